/**
 * Built-in guards of the semantic tier: cheap text checks that refuse a match the embedder may blur, because the two
 * compared texts differ in a number, a negation or a named entity. Each is a heuristic on the words, in English.
 */

/** The built-in guards. */
export type GuardName = 'numbers' | 'negations' | 'entities';

/** All built-in guards, in the order they are checked. */
export const GUARD_NAMES: readonly GuardName[] = Object.freeze(['numbers', 'negations', 'entities']);

const UNITS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11,
  twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
  twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90, dozen: 12,
  first: 1, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6, seventh: 7, eighth: 8, ninth: 9, tenth: 10,
  once: 1, twice: 2, half: 0.5, double: 2, triple: 3,
}; // prettier-ignore
const SCALES: Record<string, number> = { hundred: 100, thousand: 1e3, million: 1e6, billion: 1e9, trillion: 1e12 };

/**
 * The numbers a text mentions, as a sorted list of values: digits (`3`, `1,000`, `2.5`, `-4`, `10%` → 10; a
 * version `1.2.3` or date `2024-05-01` gives each of its parts) and numbers spelled out (`three`, `twenty five`,
 * `two hundred`, `a dozen`, ordinals up to `tenth`, `once`, `twice`, `half`, `double`). `one` is not counted when
 * it is a pronoun (`which one`, `one of`, `the one`).
 */
export function numbersOf(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(/\d[\d,]*(?:\.\d+)?/g)) {
    const raw = m[0].replace(/,(?=\d{3}\b)/g, '').replace(/[,.]+$/, '');
    const value = Number(raw);
    if (Number.isFinite(value)) out.push(value);
  }
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  let current: number | undefined;
  let total = 0;
  const flush = () => {
    if (current !== undefined) out.push(total + current);
    current = undefined;
    total = 0;
  };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const unit = UNITS[word];
    const scale = SCALES[word];
    if (word === 'one' && isPronounOne(words[i - 1], words[i + 1])) {
      flush();
    } else if (unit !== undefined) {
      current = (current ?? 0) + unit;
    } else if (scale !== undefined) {
      const value = (current ?? 1) * scale;
      if (scale >= 1000) {
        total += value;
        current = 0;
      } else current = value;
    } else if (!(word === 'and' && current !== undefined)) flush();
  }
  flush();
  return out.sort((a, b) => a - b);
}

const PRONOUN_BEFORE = new Set(['which', 'the', 'this', 'that', 'each', 'every', 'any', 'no', 'some', 'another']);
function isPronounOne(before: string | undefined, after: string | undefined): boolean {
  return (before !== undefined && PRONOUN_BEFORE.has(before)) || after === 'of' || after === 'another';
}

const NEGATIONS = new Set([
  'not', 'no', 'never', 'without', 'none', 'nobody', 'nothing', 'nowhere', 'neither', 'nor', 'cannot', 'cant',
  'dont', 'doesnt', 'didnt', 'isnt', 'arent', 'wasnt', 'werent', 'wont', 'wouldnt', 'shouldnt', 'couldnt', 'hasnt',
  'havent', 'hadnt', 'mustnt', 'neednt', 'except', 'excluding', 'lack', 'lacks', 'lacking',
]); // prettier-ignore

/**
 * How many negation cues a text holds: `not`, `no`, `never`, `without`, `none`, `nobody`, `nothing`, `nowhere`,
 * `neither`, `nor`, `cannot`, every `…n't` contraction (with or without the apostrophe), `except`, `excluding`,
 * `lack(s|ing)`.
 */
export function negationsOf(text: string): number {
  let n = 0;
  for (const word of text.toLowerCase().match(/[a-z]+(?:['’][a-z]+)?/g) ?? []) {
    const plain = word.replace(/['’]/g, '');
    if (NEGATIONS.has(plain) || /n['’]t$/.test(word)) n++;
  }
  return n;
}

/**
 * The named entities of a text, lower-cased: quoted strings (`"…"`, `'…'`, `` `…` ``, `“…”`), and capitalised or
 * mixed-case words (`Paris`, `NASA`, `iPhone`, `PostgreSQL`) that do not start a sentence, `I` excepted; a
 * possessive `'s` is dropped. A sentence's first word is not taken as an entity (it is capitalised anyway), but the
 * other text may still have to contain it (see {@link entitiesDiffer}).
 */
export function entitiesOf(text: string): { names: Set<string>; quoted: Set<string> } {
  const quoted = new Set<string>();
  for (const m of text.matchAll(/"([^"]+)"|“([^”]+)”|`([^`]+)`|(?<![\w])'([^']+)'(?![\w])/g)) {
    quoted.add((m[1] ?? m[2] ?? m[3] ?? m[4] ?? '').trim().toLowerCase());
  }
  const names = new Set<string>();
  let start = true;
  for (const m of text.matchAll(/[\p{L}\p{N}][\p{L}\p{N}_.+#-]*(?:['’]s)?|[.!?:;\n]/gu)) {
    const token = m[0];
    if (/^[.!?:;\n]$/.test(token)) {
      start = true;
      continue;
    }
    const word = token.replace(/['’]s$/, '').replace(/[.-]+$/, '');
    const capitalised = /^\p{Lu}/u.test(word) && word !== 'I';
    const mixed = /^\p{Ll}+\p{Lu}/u.test(word);
    if ((capitalised && !start) || mixed) names.add(word.toLowerCase());
    start = false;
  }
  return { names, quoted };
}

/** Words of a text, lower-cased, for entity look-ups. */
function wordsOf(text: string): Set<string> {
  const words = new Set<string>();
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}][\p{L}\p{N}_.+#-]*/gu)) {
    words.add(m[0].replace(/['’]s$/, '').replace(/[.-]+$/, ''));
  }
  return words;
}

/** Whether one text names an entity (or quotes a string) that the other does not contain, either way round. */
export function entitiesDiffer(a: string, b: string): boolean {
  const check = (from: string, to: string) => {
    const { names, quoted } = entitiesOf(from);
    if (names.size === 0 && quoted.size === 0) return false;
    const words = wordsOf(to);
    const lower = to.toLowerCase();
    for (const name of names) if (!words.has(name)) return true;
    for (const q of quoted) if (!lower.includes(q)) return true;
    return false;
  };
  return check(a, b) || check(b, a);
}

/** Which enabled guard refuses matching `a` with `b`, or undefined when none does. */
export function guardRefusing(
  a: string,
  b: string,
  enabled: Readonly<Record<GuardName, boolean>>,
): GuardName | undefined {
  if (enabled.numbers) {
    const x = numbersOf(a);
    const y = numbersOf(b);
    if (x.length !== y.length || x.some((v, i) => v !== y[i])) return 'numbers';
  }
  if (enabled.negations && negationsOf(a) !== negationsOf(b)) return 'negations';
  if (enabled.entities && entitiesDiffer(a, b)) return 'entities';
  return undefined;
}
