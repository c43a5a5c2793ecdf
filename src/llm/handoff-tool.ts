/** The one tool a handoff model is offered, the same for every vendor. */
export const HANDOFF_TOOL_NAME = 'request_human';

export const HANDOFF_TOOL_DESCRIPTION =
  'Bring in a human agent. Call this when the user needs a human agent: they ask for a person, ' +
  'or you cannot help them. Say why in one sentence.';

export const HANDOFF_TOOL_PARAMETERS = {
  type: 'object' as const,
  properties: {
    reason: { type: 'string', description: 'Why the user needs a human agent, in one sentence.' },
  },
  required: ['reason'],
  additionalProperties: false,
};

/**
 * The reason from a call's arguments (a JSON string as streamed, or an already parsed object), or ''.
 * A model's arguments may be anything, and a malformed call still asks for a human: this never throws.
 */
export function handoffReason(args: unknown): string {
  let input = args;
  if (typeof args === 'string') {
    try {
      input = JSON.parse(args);
    } catch {
      return '';
    }
  }
  const reason = (input as { reason?: unknown } | null | undefined)?.reason;
  return typeof reason === 'string' ? reason : '';
}
