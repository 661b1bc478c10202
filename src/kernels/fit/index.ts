export { encodeFit, type FitArgs } from './fit.js';
export { fitRef, packImages } from './fit.ref.js';
export { fitPlan, MAX_FIT_BOX, MAX_FIT_OUTPUT } from './plan.js';
export type { FitBox, FitOptions, FitPlan, FitSample } from './plan.js';
export { boxScale, centerBox, FIT_DRAW, fitBox, fitRandom, randomResizedBox, scaleBox, type FitCrop } from './box.js';
export { fitWgsl } from './fit.wgsl.js';
