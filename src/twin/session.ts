/**
 * A twin that stays up: one cluster read once, its model built once, its plan
 * made once on first use (and with it each node's rules, compiled lazily and
 * cached by the plan), and the policy engine's view of the same objects. Every
 * command that reads a cluster reads it through a session (cli/cluster.ts), and
 * `packeteye serve` keeps one open between questions, so a command and the
 * server answer from the same reading by construction.
 *
 * Pure: texts in (the caller reads the files), nothing read from the world.
 * A session never changes; a new reading of the files is a new session.
 */
import type { Diagnostic } from '../diag.js';
import { loadDocuments, workloadPods, type LoadResult } from '../k8s/load.js';
import { buildModel, type ClusterModel } from '../k8s/model.js';
import type { Cluster } from '../k8s/types.js';
import type { SourceObject } from '../policy/model.js';
import { resolveLayout } from '../proxy/version.js';
import { planTwin, type KeepOptions, type TwinPlan } from './index.js';

/** One input as read: its name (for diagnostics) and its text. */
export interface SessionInput {
  readonly path: string;
  readonly text: string;
}

/** The objects the policy engine reads, each with where it came from. */
export interface PolicySources {
  readonly sources: readonly SourceObject[];
  /** The `Cluster` object as written, if the input has one. */
  readonly cluster: Cluster | undefined;
}

/**
 * The built nodes `packeteye serve` keeps between questions (KeepOptions,
 * twin/keep.ts): a trace lends the nodes it needs from those built for
 * earlier questions, put back to cold, and builds only the others; while
 * idle the server builds the nodes not asked for yet (cli/serve.ts, at most
 * half the heap). A node of 30 pods keeps about 0.3 MB: 6,144 nodes (every
 * node of the 5,000-node scale cluster) about 1.8 GB.
 */
export const SERVE_KEEP: KeepOptions = { nodes: 6144, maxNodes: 64 };

/** What a session is doing, for a progress line. */
export type SessionPhase = (what: 'load' | 'model' | 'plan', count: number) => void;

export class TwinSession {
  /** Every diagnostic of the reading (errors included: the caller decides what they stop). */
  readonly diagnostics: readonly Diagnostic[];
  /** Workloads none of whose pods is in the input, each standing as one pod from its template. */
  readonly standIns: readonly string[];
  private planned: TwinPlan | undefined;
  private policy: PolicySources | undefined;

  private constructor(
    /** The names of the inputs, as given (`-f` arguments expanded). */
    readonly paths: readonly string[],
    readonly loaded: LoadResult,
    readonly model: ClusterModel,
    diagnostics: Diagnostic[],
    standIns: string[],
    private readonly keep: KeepOptions,
  ) {
    this.diagnostics = diagnostics;
    this.standIns = standIns;
  }

  /**
   * Reads the inputs and builds the model, as every command does. `keep`: the
   * plan keeps built instances for traces to reuse (a server answering many
   * questions); a command answering one builds each afresh.
   */
  static open(
    inputs: readonly SessionInput[],
    phase?: SessionPhase,
    keep: KeepOptions = {},
  ): TwinSession {
    phase?.('load', inputs.length);
    const loaded = loadDocuments(inputs);
    // A manifest repository holds Deployments, not Pods: each workload none of whose pods is in
    // the input stands as one pod made from its template (the model places it on a node).
    const standIns = workloadPods(loaded);
    phase?.('model', loaded.objects.length);
    const built = buildModel([...loaded.objects, ...standIns.map((w) => w.pod)], loaded.evidence);
    const diagnostics = [...loaded.diagnostics, ...built.diagnostics, ...unmodelled(built.model)];
    return new TwinSession(
      inputs.map((i) => i.path),
      loaded,
      built.model,
      diagnostics,
      standIns.map((w) => w.pod.object.metadata.name),
      keep,
    );
  }

  /** Whether the reading has an error (then no answer can be given from it). */
  get failed(): boolean {
    return this.diagnostics.some((d) => d.severity === 'error');
  }

  /** Whether the plan is made (the first trace or rules question makes it). */
  get isPlanned(): boolean {
    return this.planned !== undefined;
  }

  /** The twin's plan, made on first use and kept: nodes are built from it per question. */
  plan(phase?: SessionPhase): TwinPlan {
    if (!this.planned) {
      phase?.('plan', this.model.nodes.size);
      this.planned = planTwin(this.model, this.keep);
    }
    return this.planned;
  }

  /**
   * The policy world's objects: pods with the addresses the model gives them
   * (IPAM defaults included) and the policies, each with where it came from,
   * and every other object (Namespaces, Services, the Cluster) as loaded.
   */
  policySources(): PolicySources {
    return (this.policy ??= policySourcesOf(this.loaded, this.model));
  }
}

function policySourcesOf(loaded: LoadResult, model: ClusterModel): PolicySources {
  const source = (o: {
    kind: string;
    metadata: { name: string; namespace?: string };
  }): SourceObject => {
    const ns = o.metadata.namespace;
    const at = model.origins.get(
      ns ? `${o.kind} ${ns}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`,
    );
    return at
      ? { object: o, origin: { file: at.file, line: at.line, document: at.document } }
      : { object: o };
  };
  const objects: { kind: string; metadata: { name: string; namespace?: string } }[] = [
    ...model.pods.values(),
    ...model.networkPolicies,
    ...model.adminNetworkPolicies,
    ...(model.baselineAdminNetworkPolicy ? [model.baselineAdminNetworkPolicy] : []),
  ];
  const cluster = loaded.objects
    .map((o) => o.object)
    .find((o): o is Cluster => o.kind === 'Cluster');
  // Every other object (Services, the Cluster, Ingresses, ExternalHosts) as loaded.
  // Namespaces as written (edits suggested for them patch what the user wrote).
  const modelled = new Set([
    'Pod',
    'NetworkPolicy',
    'AdminNetworkPolicy',
    'BaselineAdminNetworkPolicy',
  ]);
  const rest = loaded.objects.filter((o) => !modelled.has(o.object.kind)).map((o) => o.object);
  return {
    sources: [...objects, ...rest].map(source),
    cluster,
  };
}

/**
 * What the answer cannot be trusted for, said before it: a kube-proxy release
 * outside the modelled ones (the nearest is used).
 */
function unmodelled(model: ClusterModel): Diagnostic[] {
  const origin = model.origins.get(`Cluster ${model.cluster.name}`);
  const where = {
    ...(origin ? { file: origin.file, line: origin.line, document: origin.document } : {}),
    object: `Cluster ${model.cluster.name}`,
    field: 'spec.kubeProxy.version',
  };
  if (model.cluster.kubeProxy.mode !== 'iptables') return [];
  const ds: Diagnostic[] = [];
  resolveLayout(model.cluster.kubeProxy.version, ds);
  return ds.map((d) => ({ ...d, ...where, code: 'k8s-version-not-modelled' }));
}
