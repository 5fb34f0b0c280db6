/**
 * The cluster model (`buildModel`, `ClusterModel` and its parts): the code
 * lives in `model/`, one file per allocator and controller it stands in for
 * (see `model/index.ts` for where each is).
 */

export * from './model/index.js';
