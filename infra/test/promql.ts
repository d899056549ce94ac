/**
 * Just enough of PromQL's lexical structure to find the series a query reads: every vector
 * selector's metric name and label matchers. Function and aggregation names, label lists after
 * by/without/on/ignoring/group_left/group_right, label names inside braces, strings, numbers and
 * durations are told apart from metric names; unbalanced brackets and unknown characters are errors.
 */

export interface Matcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

export interface Selector {
  metric: string;
  matchers: Matcher[];
}

export class PromqlError extends Error {
  constructor(
    readonly expr: string,
    readonly position: number,
    message: string,
  ) {
    super(`${message} at ${position} in: ${expr}`);
    this.name = "PromqlError";
  }
}

type TokenKind = "ident" | "string" | "number" | "punct" | "variable";
interface Token {
  kind: TokenKind;
  text: string;
  position: number;
}

const AGGREGATIONS = new Set(["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"]);
const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "atan2"]);
const LABEL_LIST_KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const LITERALS = new Set(["inf", "nan", "Inf", "NaN"]);
const MATCH_OPS = ["=~", "!~", "!=", "="] as const;
const PUNCT = ["==", "!=", "<=", ">=", "=~", "!~", "(", ")", "{", "}", "[", "]", ",", "=", "<", ">", "+", "-", "*", "/", "%", "^", "@", ":"];

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < expr.length && expr[i] !== "\n") i++;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      const start = i++;
      let value = "";
      while (i < expr.length && expr[i] !== c) {
        if (expr[i] === "\\" && c !== "`") {
          value += expr[i + 1] ?? "";
          i += 2;
        } else value += expr[i++];
      }
      if (i >= expr.length) throw new PromqlError(expr, start, "unterminated string");
      i++;
      tokens.push({ kind: "string", text: value, position: start });
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(expr[i + 1] ?? ""))) {
      const start = i;
      // Numbers, hex, exponents and durations (5m, 1h30m) are one token each.
      while (i < expr.length && /[0-9a-zA-Z._]/.test(expr[i] as string)) {
        if ((expr[i] === "e" || expr[i] === "E") && (expr[i + 1] === "+" || expr[i + 1] === "-")) i++;
        i++;
      }
      tokens.push({ kind: "number", text: expr.slice(start, i), position: start });
      continue;
    }
    if (/[a-zA-Z_]/.test(c)) {
      const start = i;
      while (i < expr.length && /[a-zA-Z0-9_:]/.test(expr[i] as string)) i++;
      tokens.push({ kind: "ident", text: expr.slice(start, i), position: start });
      continue;
    }
    if (c === "$") {
      // Grafana template variables: $var, ${var}, $__rate_interval.
      const start = i++;
      if (expr[i] === "{") {
        while (i < expr.length && expr[i] !== "}") i++;
        i++;
      } else while (i < expr.length && /[a-zA-Z0-9_]/.test(expr[i] as string)) i++;
      tokens.push({ kind: "variable", text: expr.slice(start, i), position: start });
      continue;
    }
    const punct = PUNCT.find((p) => expr.startsWith(p, i));
    if (!punct) throw new PromqlError(expr, i, `unexpected character "${c}"`);
    tokens.push({ kind: "punct", text: punct, position: i });
    i += punct.length;
  }
  return tokens;
}

function checkBalanced(expr: string, tokens: Token[]): void {
  const pairs: Record<string, string> = { ")": "(", "}": "{", "]": "[" };
  const stack: Token[] = [];
  for (const t of tokens) {
    if (t.kind !== "punct") continue;
    if (t.text === "(" || t.text === "{" || t.text === "[") stack.push(t);
    else if (t.text in pairs) {
      const open = stack.pop();
      if (!open || open.text !== pairs[t.text]) throw new PromqlError(expr, t.position, `unbalanced "${t.text}"`);
    }
  }
  const open = stack.pop();
  if (open) throw new PromqlError(expr, open.position, `"${open.text}" is never closed`);
}

/** Reads `{label op "value", ...}` starting at the `{` token; returns the matchers and the index after `}`. */
function readMatchers(expr: string, tokens: Token[], at: number): { matchers: Matcher[]; next: number } {
  const matchers: Matcher[] = [];
  let i = at + 1;
  while (i < tokens.length && tokens[i]?.text !== "}") {
    const label = tokens[i];
    const op = tokens[i + 1];
    const value = tokens[i + 2];
    if (label?.kind !== "ident" && label?.kind !== "string") throw new PromqlError(expr, label?.position ?? expr.length, "expected a label name");
    if (!op || !(MATCH_OPS as readonly string[]).includes(op.text)) throw new PromqlError(expr, op?.position ?? expr.length, "expected a matcher operator");
    if (value?.kind !== "string" && value?.kind !== "variable") throw new PromqlError(expr, value?.position ?? expr.length, "expected a quoted label value");
    matchers.push({ label: label.text, op: op.text as Matcher["op"], value: value.text });
    i += 3;
    if (tokens[i]?.text === ",") i++;
  }
  return { matchers, next: i + 1 };
}

/** Every vector selector in `expr`, in order of appearance. */
export function selectors(expr: string): Selector[] {
  const tokens = tokenize(expr);
  checkBalanced(expr, tokens);
  const found: Selector[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    const next = tokens[i + 1];
    if (t.kind === "ident" && LABEL_LIST_KEYWORDS.has(t.text) && next?.text === "(") {
      // by (le, stage): label names, not metrics.
      while (i < tokens.length && tokens[i]?.text !== ")") i++;
      continue;
    }
    if (t.kind === "punct" && t.text === "{") {
      // A selector with no metric name: {__name__="x"} or {job="y"}.
      const { matchers, next: after } = readMatchers(expr, tokens, i);
      const name = matchers.find((m) => m.label === "__name__" && m.op === "=");
      found.push({ metric: name?.value ?? "", matchers: matchers.filter((m) => m !== name) });
      i = after - 1;
      continue;
    }
    if (t.kind !== "ident") continue;
    if (next?.text === "(" || AGGREGATIONS.has(t.text) || KEYWORDS.has(t.text) || LITERALS.has(t.text)) continue;
    if (next?.text === "{") {
      const { matchers, next: after } = readMatchers(expr, tokens, i + 1);
      found.push({ metric: t.text, matchers });
      i = after - 1;
    } else found.push({ metric: t.text, matchers: [] });
  }
  return found;
}

/** The distinct metric names `expr` reads (as written, suffixes included). */
export function metricNames(expr: string): string[] {
  return [...new Set(selectors(expr).map((s) => s.metric))];
}

/** The labels named in `by (...)` clauses: a query grouping by a label the series lack draws one unlabelled line. */
export function groupingLabels(expr: string): string[] {
  const tokens = tokenize(expr);
  checkBalanced(expr, tokens);
  const labels: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]?.kind !== "ident" || tokens[i]?.text !== "by" || tokens[i + 1]?.text !== "(") continue;
    for (i += 2; i < tokens.length && tokens[i]?.text !== ")"; i++) if (tokens[i]?.kind === "ident") labels.push(tokens[i]?.text as string);
  }
  return [...new Set(labels)];
}
