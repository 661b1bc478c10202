import { uncertaintyStrategy } from './uncertainty.js';

/** Entropy of the predicted class distribution (Shannon; Settles' survey, 2009). */
export const entropy = uncertaintyStrategy('entropy', 'entropy', true);
