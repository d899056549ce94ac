/** Escapes text and attribute values for XML. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string);
}

/** Pixel coordinates with at most two decimals keep files small and diffs readable. */
export const px = (v: number): string => String(Math.round(v * 100) / 100);

export function element(name: string, attributes: Record<string, string | number | undefined>, content?: string): string {
  const attrs = Object.entries(attributes)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(typeof v === "number" ? px(v) : (v as string))}"`)
    .join("");
  return content === undefined ? `<${name}${attrs}/>` : `<${name}${attrs}>${content}</${name}>`;
}

/** Tableau 10: distinguishable, and readable on white. */
export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/** Rough text width for layout (no font metrics in a dependency-free renderer). */
export const textWidth = (s: string, fontSize: number): number => s.length * fontSize * 0.6;
