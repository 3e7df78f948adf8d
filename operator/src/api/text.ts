/** `1 workspace`, `5 workspaces`: a count with its noun, for messages people read. */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
