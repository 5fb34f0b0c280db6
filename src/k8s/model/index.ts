/**
 * The cluster model: loaded objects, defaulted and allocated the way the API
 * server and its controllers would, checked across objects, and indexed.
 *
 * What a real cluster fills in, where the real component does it, and the
 * file here that does the same:
 *
 * | what                  | real component (source)                                  | file                          |
 * |-----------------------|----------------------------------------------------------|-------------------------------|
 * | Cluster ranges, CNI…  | (the cluster's installer; packeteye's `Cluster` object)  | `cluster-config.ts`           |
 * | node podCIDR          | kube-controller-manager range allocator (`nodeipam/ipam/cidrset`) | `node-ipam.ts`       |
 * | node addresses        | (the machines)                                           | `nodes.ts`                    |
 * | pod IP                | CNI host-local IPAM (`plugins/ipam/host-local`)          | `pod-ipam.ts` (checks: `pods.ts`) |
 * | Service defaults      | `pkg/apis/core/v1/defaults.go` SetDefaults_Service       | `services.ts`                 |
 * | ClusterIP             | apiserver ipallocator (`pkg/registry/core/service/ipallocator`) | `cluster-ip.ts`        |
 * | NodePort, health port | apiserver portallocator (`pkg/registry/core/service/portallocator`) | `node-ports.ts`    |
 * | EndpointSlices        | EndpointSlice controller (`staging/src/k8s.io/endpointslice`) | `endpointslice-controller.ts` |
 * | slices from Endpoints | endpointslicemirroring controller                        | `endpointslices.ts`           |
 * | `default/kubernetes`  | apiserver's kubernetes service controller and endpoint reconciler | `services.ts`, `endpointslice-controller.ts` |
 * | namespace label       | apiserver admission: `kubernetes.io/metadata.name`       | `namespaces.ts`               |
 *
 * Real allocators pick random free addresses and ports; packeteye picks the
 * lowest free one in sorted `namespace/name` order, so the same input gives
 * the same cluster. Every value invented here is listed in `model.defaults`
 * (`defaults.ts`) with its reason, for traces and `packeteye rules` to show.
 * `build.ts` runs the steps in order; `builder.ts` collects diagnostics.
 */

export { buildModel } from './build.js';
export { findPort, isPodReady, nodeExternalIP, nodeInternalIP, nsName } from './accessors.js';
export { beginsWith, formatDefault, withDefaultsAfter, type ModelDefault } from './defaults.js';
export { deriveSlices } from './endpointslice-controller.js';
export * from './types.js';
