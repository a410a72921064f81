import { courseScenario } from '../../src/config/paths.js';
import { readScenario } from '../../src/sim/scenario.js';

export const SCENARIO = courseScenario;

/** What the server must hold after a replay: computed from the scenario, independently of it. */
export interface ScenarioState {
  lastId: number;
  users: Set<string>;
  messages: number;
  /** `who\tother` pairs that are followed at the end. */
  follows: Set<string>;
}

export async function expectedState(file: string, lines?: number): Promise<ScenarioState> {
  const state: ScenarioState = { lastId: -1, users: new Set(), messages: 0, follows: new Set() };
  for await (const a of readScenario(file, { lines })) {
    state.lastId = a.id;
    if (a.command === 'register') state.users.add(a.user);
    else if (a.command === 'tweet') state.messages++;
    else if (a.command === 'follow') state.follows.add(`${a.user}\t${a.arg}`);
    else state.follows.delete(`${a.user}\t${a.arg}`);
  }
  return state;
}

/** Users followed by `user` at the end, sorted. */
export function followsOf(state: ScenarioState, user: string): string[] {
  return [...state.follows]
    .filter((pair) => pair.startsWith(`${user}\t`))
    .map((pair) => pair.slice(user.length + 1))
    .sort();
}
