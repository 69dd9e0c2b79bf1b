/**
 * What the semantic tier compares (by default the last user message's text) and the exact-match filter around it:
 * the request body with that one text left out, so that everything else (model, system prompt, tools, parameters,
 * earlier turns) must match exactly.
 */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Stands for the compared text in the filter. */
const COMPARED = '\u0000infercache:compared';

/** Text of a message's content: a string, or the last text part of an array of parts. */
function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  for (let i = content.length - 1; i >= 0; i--) {
    const part = content[i];
    if (isObj(part) && typeof part.text === 'string' && /^(text|input_text)$/.test(String(part.type))) return part.text;
  }
  return undefined;
}

/**
 * The default compared text: the last user message of a chat (`messages`), Responses API (`input`) or AI SDK
 * (`prompt`) request, or a legacy completion's `prompt` string; undefined when there is none (then the request is
 * looked up exactly only).
 */
export function lastUserText(body: Obj): string | undefined {
  const list = Array.isArray(body.messages)
    ? body.messages
    : Array.isArray(body.prompt)
      ? body.prompt
      : Array.isArray(body.input)
        ? body.input
        : undefined;
  if (!list) {
    if (typeof body.input === 'string') return body.input;
    return typeof body.prompt === 'string' ? body.prompt : undefined;
  }
  for (let i = list.length - 1; i >= 0; i--) {
    const message = list[i];
    if (isObj(message) && message.role === 'user') return textOf(message.content);
  }
  return undefined;
}

/**
 * The body with the last string value equal to `text` (depth first, in key order) replaced by a placeholder; the
 * same body when `text` is not found (then only identical bodies share the filter).
 */
export function withoutCompared(body: Obj, text: string): Obj {
  let found = false;
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      const out = value.slice();
      for (let i = out.length - 1; i >= 0 && !found; i--) out[i] = walk(out[i]);
      return out;
    }
    if (isObj(value)) {
      const keys = Object.keys(value);
      const out: Obj = { ...value };
      for (let i = keys.length - 1; i >= 0 && !found; i--) out[keys[i]!] = walk(value[keys[i]!]);
      return out;
    }
    if (value === text && !found) {
      found = true;
      return COMPARED;
    }
    return value;
  };
  return walk(body) as Obj;
}
