import type { FastifySchemaValidationError } from 'fastify';
import { ApiError } from './errors.js';

/**
 * The simulator API's contract, declared once: what each route accepts (params, querystring,
 * body) and answers (response), as JSON Schema, plus the texts a request that breaks it gets.
 * Fastify validates requests against these with Ajv before the handler runs, and serialises
 * responses with them, so no field the contract does not name (a password hash, an e-mail
 * address) can reach a client.
 *
 * Validation never coerces: `{"content": 42}` is a 400, not the text "42"
 * ({@link API_AJV_OPTIONS}). Unknown body and query fields are allowed and ignored, as the
 * simulator's requests have always been taken.
 */

// ---- texts --------------------------------------------------------------------------------

export const BODY_NOT_OBJECT = 'The request body must be a JSON object';
export const NO_NOT_COUNT = '"no" must be a whole number of messages, 0 or more';
const mustBeString = (field: string) => `"${field}" must be a string`;

// ---- validation ---------------------------------------------------------------------------

/** Ajv settings for the API server (Fastify's `ajv` option): no type coercion of any part. */
export const API_AJV_OPTIONS = {
  customOptions: { coerceTypes: false, allowUnionTypes: true },
};

/**
 * Fastify's `schemaErrorFormatter` for the API: turns the first Ajv error of a request part
 * (`context`: 'body', 'querystring', 'params' or 'headers') into the contract's 400 text.
 * Every body field is a string, so a body error is either the whole body (not an object) or
 * one field (not a string); the only query field that can fail is `no`.
 *
 * @returns an ApiError with status 400, answered as `{"status": 400, "error_msg": text}`.
 */
export function apiValidationError(errors: FastifySchemaValidationError[], context: string) {
  const first = errors[0];
  const field = first?.instancePath.split('/')[1] ?? '';
  if (context === 'body') return new ApiError(400, field ? mustBeString(field) : BODY_NOT_OBJECT);
  if (context === 'querystring' && field === 'no') return new ApiError(400, NO_NOT_COUNT);
  return new ApiError(400, `The request ${context} is not valid`);
}

// ---- pieces -------------------------------------------------------------------------------

export const DEFAULT_NO = 100;
/** The most rows one listing returns; a larger `no` is served as this. */
export const MAX_NO = 10_000;

/** A string field of a body: missing or null means '' (the handler's `?? ''`). */
const text = (description: string) => ({ type: ['string', 'null'], description }) as const;

/** `?latest=`: read and stored by the server's onRequest hook; never a reason to refuse. */
const LATEST = {
  description:
    'the latest action id the simulator sent; an integer other than -1 is stored before auth, anything else is ignored',
} as const;

/** `?no=`: how many rows a listing returns. */
const NO = {
  type: 'string',
  pattern: '^\\d*$',
  description: `the most rows to return, 0 or more; empty or absent means ${DEFAULT_NO}, more is served as ${MAX_NO}`,
} as const;

const QUERY_LATEST = { type: 'object', properties: { latest: LATEST } } as const;
const QUERY_LIST = { type: 'object', properties: { latest: LATEST, no: NO } } as const;

const USER_PARAMS = {
  type: 'object',
  properties: { username: { type: 'string', description: 'a username, percent-encoded' } },
  required: ['username'],
} as const;

/** Every 4xx and 5xx answer: `{"status": <the HTTP status>, "error_msg": "<why>"}`. */
const ERROR = {
  type: 'object',
  properties: { status: { type: 'integer' }, error_msg: { type: 'string' } },
  required: ['status', 'error_msg'],
} as const;

const NO_CONTENT = { type: 'null', description: 'success, with an empty body' } as const;

/** One message as the simulator reads it; `pub_date` in whole seconds since the epoch. */
const MESSAGES = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      content: { type: 'string' },
      pub_date: { type: 'integer' },
      user: { type: 'string' },
    },
    required: ['content', 'pub_date', 'user'],
  },
} as const;

const errors = { '4xx': ERROR, '5xx': ERROR } as const;

// ---- routes -------------------------------------------------------------------------------

/** The schema of every simulator API route, by route. */
export const SCHEMAS = {
  /** GET /latest */
  latest: {
    querystring: QUERY_LATEST,
    response: {
      200: {
        type: 'object',
        properties: { latest: { type: 'integer' } },
        required: ['latest'],
      },
      ...errors,
    },
  },
  /** POST /register */
  register: {
    querystring: QUERY_LATEST,
    body: {
      type: 'object',
      properties: {
        username: text('the new username'),
        email: text('an e-mail address'),
        pwd: text('the password'),
      },
    },
    response: { 204: NO_CONTENT, ...errors },
  },
  /** GET /msgs */
  publicMessages: {
    querystring: QUERY_LIST,
    response: { 200: MESSAGES, ...errors },
  },
  /** GET /msgs/:username */
  userMessages: {
    params: USER_PARAMS,
    querystring: QUERY_LIST,
    response: { 200: MESSAGES, ...errors },
  },
  /** POST /msgs/:username */
  postMessage: {
    params: USER_PARAMS,
    querystring: QUERY_LATEST,
    body: { type: 'object', properties: { content: text('the message text') } },
    response: { 204: NO_CONTENT, ...errors },
  },
  /** GET /fllws/:username */
  follows: {
    params: USER_PARAMS,
    querystring: QUERY_LIST,
    response: {
      200: {
        type: 'object',
        properties: { follows: { type: 'array', items: { type: 'string' } } },
        required: ['follows'],
      },
      ...errors,
    },
  },
  /** POST /fllws/:username; `follow` wins when both are given. */
  follow: {
    params: USER_PARAMS,
    querystring: QUERY_LATEST,
    body: {
      type: 'object',
      properties: {
        follow: text('a username to follow'),
        unfollow: text('a username to stop following'),
      },
    },
    response: { 204: NO_CONTENT, ...errors },
  },
} as const;

// ---- the shapes the schemas guarantee, for the handlers ------------------------------------

type Text = string | null | undefined;
export type UserParams = { username: string };
export type ListQuery = { no?: string };
export type RegisterBody = { username?: Text; email?: Text; pwd?: Text };
export type MessageBody = { content?: Text };
export type FollowBody = { follow?: Text; unfollow?: Text };

/**
 * `?no=` as validated by {@link SCHEMAS} (digits or empty): the number of rows to list. Any
 * count is accepted, however many digits it has; more than MAX_NO is served as MAX_NO.
 */
export function rowCount(query: ListQuery): number {
  return query.no ? Math.min(Number(query.no), MAX_NO) : DEFAULT_NO;
}
