import type { TestServer } from '../helpers/server.js';

/** A small cast with messages, for screenshots and layout checks. */
export const LONG_WORD = `https://example.com/${'a-really-long-path-segment-'.repeat(6)}end`;
export const LONG_NAME = `Bartholomew-Maximilian-Wolfgang-${'x'.repeat(30)}`;

export async function seedPeople(server: TestServer) {
  const domain = server.app.domain;
  const ids: Record<string, number> = {};
  for (const name of ['Ada Lovelace', 'Grace Hopper', 'Margaret Hamilton', LONG_NAME]) {
    ids[name] = await domain.register({
      username: name,
      email: `${name.split(' ')[0]?.toLowerCase()}@example.com`,
      password: 'secret',
      password2: 'secret',
    });
  }
  const id = (name: string) => ids[name] as number;
  await domain.follow(id('Ada Lovelace'), id('Grace Hopper'));
  const posts: [string, string][] = [
    ['Grace Hopper', 'It is often easier to ask for forgiveness than to ask for permission.'],
    ['Margaret Hamilton', 'Looking forward to the next launch window.'],
    [LONG_NAME, `A link with no spaces to break at: ${LONG_WORD}`],
    [
      'Ada Lovelace',
      'The engine weaves algebraic patterns <just like> a loom weaves flowers & leaves.',
    ],
    ['Grace Hopper', 'A ship in port is safe, but that is not what ships are built for.'],
    ['Ada Lovelace', 'Hello, MiniTwit! "quotes" and \'apostrophes\' stay as typed.'],
  ];
  for (let i = 0; i < 40; i++) {
    const [who, text] = posts[i % posts.length] as [string, string];
    await domain.post(id(who), i < posts.length ? text : `${text} (#${i})`);
  }
  return id;
}
