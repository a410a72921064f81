import type { FastifyReply } from 'fastify';

/** A failure with its HTTP status, answered in the reference's JSON error shape. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The reference's error shape: `{"status": <code>, "error_msg": "<text>"}`. */
export function sendError(reply: FastifyReply, status: number, message: string) {
  return reply.code(status).send({ status, error_msg: message });
}
