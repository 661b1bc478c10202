import { uncertaintyStrategy } from './uncertainty.js';

/** Margin: a small gap between the two likeliest classes (Scheffer et al. 2001). */
export const margin = uncertaintyStrategy('margin', 'margin', true);
