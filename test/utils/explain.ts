import { Schema } from 'mongoose';

/** A stage of a MongoDB plan, with the index an IXSCAN walks. */
export interface PlanStage {
  stage: string;
  keyPattern?: Record<string, unknown>;
}

/**
 * What `explain` lets a test prove, by server: MongoDB runs the plan (executionStats) and reports its
 * stages and the documents it read; FerretDB v1 reports which part of the query it handed its backend
 * (PostgreSQL) and that backend's plan, whose filter names the fields pushed down.
 */
export type Explained =
  | { server: 'mongodb'; stages: PlanStage[]; docsExamined: number }
  | { server: 'ferretdb'; filterPushdown: boolean; sortPushdown: boolean; backendPlan: string };

/** Every stage of a MongoDB plan, however nested (classic `inputStage(s)`, SBE `queryPlan`). */
function stagesOf(plan: unknown): PlanStage[] {
  if (!plan || typeof plan !== 'object') return [];
  const node = plan as PlanStage & { inputStage?: unknown; inputStages?: unknown[]; queryPlan?: unknown };
  return [
    ...(typeof node.stage === 'string' ? [{ stage: node.stage, keyPattern: node.keyPattern }] : []),
    ...stagesOf(node.queryPlan),
    ...stagesOf(node.inputStage),
    ...(node.inputStages ?? []).flatMap(stagesOf),
  ];
}

/** Reads an `explain('executionStats')` answer by its shape; a shape neither server gives fails the test. */
export function readExplain(answer: unknown): Explained {
  const explained = answer as {
    serverInfo?: { ferretdbVersion?: string };
    queryPlanner?: { winningPlan?: unknown };
    executionStats?: { totalDocsExamined?: number };
    filterPushdown?: boolean;
    sortPushdown?: boolean;
  };
  if (explained.serverInfo?.ferretdbVersion !== undefined) {
    if (typeof explained.filterPushdown !== 'boolean') throw new Error('FerretDB explain without filterPushdown');
    return {
      server: 'ferretdb',
      filterPushdown: explained.filterPushdown,
      sortPushdown: explained.sortPushdown === true,
      backendPlan: JSON.stringify(explained.queryPlanner),
    };
  }
  const docsExamined = explained.executionStats?.totalDocsExamined;
  const stages = stagesOf(explained.queryPlanner?.winningPlan);
  if (typeof docsExamined !== 'number' || stages.length === 0) {
    throw new Error(`explain answer of no known shape: ${JSON.stringify(answer).slice(0, 500)}`);
  }
  return { server: 'mongodb', stages, docsExamined };
}

/** Whether the schema declares an index with exactly these keys, in this order. */
export function declaresIndex(schema: Schema, keys: Record<string, 1 | -1>): boolean {
  return schema.indexes().some(([fields]) => JSON.stringify(fields) === JSON.stringify(keys));
}
