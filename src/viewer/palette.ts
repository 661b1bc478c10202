/** One colour per class: Tableau's ten (distinct for most eyes), then hues spread by the golden angle. */
const TEN = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function classColour(label: number): string {
  if (label >= 0 && label < TEN.length) return TEN[label];
  return `hsl(${Math.round((label * 137.508) % 360)} 60% 50%)`;
}

/** A class's name, or its number when the tensor names none. */
export function className(names: readonly string[] | undefined, label: number): string {
  return names?.[label] ?? String(label);
}
