/**
 * k8s: Kubernetes objects as the cluster's real components would see them.
 *
 * ```
 *   files ──parseFile──▶ raw documents ──decode──▶ typed objects ──loadDocuments──▶ LoadedObject[]
 *   (YAML, JSON,          (lines kept for        (validated one      (Lists expanded,
 *    many documents)       diagnostics)           by one)             duplicates dropped)
 *
 *   LoadedObject[] ──buildModel──▶ ClusterModel: defaulted like the API server, allocated
 *                                  like its controllers, checked across objects, indexed;
 *                                  every invented value in `model.defaults`
 * ```
 *
 * Nothing here throws on bad input: problems are `Diagnostic`s with a stable
 * code that name the file, line, document, `Kind ns/name` and field path.
 * Upstream sources: `pkg/apis/core/v1/defaults.go` (Service defaults),
 * `pkg/apis/core/validation` (field rules), `pkg/registry/core/service/
 * {ipallocator,portallocator}`, `pkg/controller/nodeipam/ipam/cidrset`,
 * containernetworking/plugins `plugins/ipam/host-local`,
 * `staging/src/k8s.io/endpointslice` (EndpointSlice controller),
 * apimachinery `pkg/labels` (selectors).
 */

export {
  loadDocuments,
  locate,
  MIRRORED_ANNOTATION,
  type LoadedObject,
  type LoadResult,
  type Origin,
} from './load.js';
export {
  buildModel,
  deriveSlices,
  findPort,
  formatDefault,
  isPodReady,
  nodeExternalIP,
  nodeInternalIP,
  nsName,
  LABEL_MANAGED_BY,
  LABEL_METADATA_NAME,
  LABEL_SERVICE_NAME,
  LABEL_ZONE,
  type ClusterConfig,
  type ClusterModel,
  type ModelDefault,
  type ModelEndpointSlice,
  type ModelNode,
  type ModelPod,
  type ModelService,
  type ModelServicePort,
} from './model.js';
export {
  matchesSelector,
  matchesMap,
  validateSelector,
  isEmptySelector,
  formatSelector,
  formatMap,
} from './selector.js';
export { parseFile, formatPath, parsePath, type Path, type RawDocument } from './parse.js';
export * from './types.js';

import type { Diagnostic } from '../diag.js';
import { loadDocuments as load } from './load.js';
import { buildModel as build, type ClusterModel as Model } from './model.js';

/**
 * Files to model in one call: `loadDocuments` then `buildModel`, their
 * diagnostics together (the CLI exits 2 when any is an error).
 */
export function loadCluster(files: readonly { path: string; text: string }[]): {
  model: Model;
  diagnostics: Diagnostic[];
} {
  const loaded = load(files);
  const { model, diagnostics } = build(loaded.objects, loaded.evidence);
  return { model, diagnostics: [...loaded.diagnostics, ...diagnostics] };
}
