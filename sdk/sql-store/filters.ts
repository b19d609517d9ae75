/**
 * MLflow's search grammar compiled to SQL: each parsed clause (sdk/mlflow parses and checks the
 * text, with MLflow's messages) becomes a condition whose values are all bound parameters; no
 * caller text reaches the SQL. What each clause means follows MLflow's SqlAlchemyStore
 * (`_get_sqlalchemy_filter_clauses` and `_get_orderby_clauses` in
 * `mlflow/store/tracking/sqlalchemy_store.py`): a metric, param or tag clause holds when the run has
 * that key with a matching value; `run_name` is the `mlflow.runName` tag; ordering puts present
 * values first, then NaN metrics, then missing ones, and ends with `start_time DESC, run_uuid`.
 */
import { MlflowError } from '../errors.js';
import type {
  ClauseValue,
  Comparator,
  ExperimentClause,
  ExperimentOrderBy,
  RunClause,
  RunOrderBy,
} from '../mlflow/tracking-search.js';
import { pythonRepr } from '../mlflow/python.js';
import type { Dialect, SqlValue } from './driver.js';

/** Collects bound values in the order their `?` appear. */
export class Params {
  readonly values: SqlValue[] = [];
  add(value: SqlValue): string {
    this.values.push(value);
    return '?';
  }
  list(values: readonly SqlValue[]): string {
    return `(${values.map((value) => this.add(value)).join(', ')})`;
  }
}

/**
 * `column <comparator> value`. LIKE is case-sensitive on both dialects, as MLflow's grammar
 * defines it (the SQLite connection turns `case_sensitive_like` on); ILIKE is PostgreSQL's own and
 * `lower() LIKE lower()` on SQLite, which is how SQLAlchemy renders it there.
 */
export function comparison(
  dialect: Dialect,
  column: string,
  comparator: Comparator,
  value: ClauseValue,
  params: Params,
): string {
  switch (comparator) {
    case 'LIKE':
      return `${column} LIKE ${params.add(value as string)}`;
    case 'ILIKE':
      return dialect === 'postgresql'
        ? `${column} ILIKE ${params.add(value as string)}`
        : `lower(${column}) LIKE lower(${params.add(value as string)})`;
    case 'IN':
      return `${column} IN ${params.list(value as string[])}`;
    case 'NOT IN':
      return `${column} NOT IN ${params.list(value as string[])}`;
    default:
      return `${column} ${comparator} ${params.add(value as SqlValue)}`;
  }
}

/** Run attributes as `runs` columns (`RunInfo` names → MLflow's `SqlRun` columns). */
export const RUN_ATTRIBUTE_COLUMNS: Record<string, string> = {
  run_id: 'run_uuid',
  run_name: 'name',
  status: 'status',
  user_id: 'user_id',
  start_time: 'start_time',
  end_time: 'end_time',
  artifact_uri: 'artifact_uri',
  lifecycle_stage: 'lifecycle_stage',
};

const attributeColumn = (key: string): string => {
  const column = RUN_ATTRIBUTE_COLUMNS[key];
  if (!column) throw MlflowError.invalidParameterValue(`Invalid attribute key '${key}' specified.`);
  return `r.${column}`;
};

/** One condition on the runs row `r` per clause. */
export function runFilterConditions(dialect: Dialect, clauses: readonly RunClause[], params: Params): string[] {
  return clauses.map((clause) => {
    const { type, key, comparator, value } = clause;
    switch (type) {
      case 'attribute':
        if (key === 'run_name') {
          return `EXISTS (SELECT 1 FROM tags f WHERE f.run_uuid = r.run_uuid AND f."key" = ${params.add('mlflow.runName')} AND ${comparison(dialect, 'f.value', comparator, value, params)})`;
        }
        return comparison(dialect, attributeColumn(key), comparator, value, params);
      case 'metric':
        return `EXISTS (SELECT 1 FROM latest_metrics f WHERE f.run_uuid = r.run_uuid AND f."key" = ${params.add(key)} AND ${comparison(dialect, 'f.value', comparator, Number(value), params)})`;
      case 'parameter':
        return `EXISTS (SELECT 1 FROM params f WHERE f.run_uuid = r.run_uuid AND f."key" = ${params.add(key)} AND ${comparison(dialect, 'f.value', comparator, value, params)})`;
      case 'tag':
        return `EXISTS (SELECT 1 FROM tags f WHERE f.run_uuid = r.run_uuid AND f."key" = ${params.add(key)} AND ${comparison(dialect, 'f.value', comparator, value, params)})`;
      case 'dataset': {
        const inputs = 'FROM inputs i JOIN datasets d ON i.source_id = d.dataset_uuid';
        const ofRun = "i.destination_id = r.run_uuid AND i.destination_type = 'RUN'";
        if (key === 'context') {
          const tagged = `JOIN input_tags it ON it.input_uuid = i.input_uuid AND it.name = ${params.add('mlflow.data.context')}`;
          return `EXISTS (SELECT 1 ${inputs} ${tagged} WHERE ${ofRun} AND ${comparison(dialect, 'it.value', comparator, value, params)})`;
        }
        if (key !== 'name' && key !== 'digest')
          throw MlflowError.invalidParameterValue(`Invalid dataset key '${key}' specified.`);
        return `EXISTS (SELECT 1 ${inputs} WHERE ${ofRun} AND ${comparison(dialect, `d.${key}`, comparator, value, params)})`;
      }
    }
  });
}

/**
 * The ORDER BY of a run search and the joins it needs. Each order entry sorts first by a rank
 * (present 0, NaN 1, missing 2 for metrics; present 0, missing 1 otherwise), then by the value.
 */
export function runOrderBy(orderBy: readonly RunOrderBy[], params: Params): { joins: string[]; order: string[] } {
  const joins: string[] = [];
  const order: string[] = [];
  const seen = new Set<string>();
  orderBy.forEach(({ type, key, ascending }, i) => {
    const direction = ascending ? 'ASC' : 'DESC';
    const identity = `${type}\u0000${key}`;
    if (seen.has(identity)) {
      throw new MlflowError(
        `\`order_by\` contains duplicate fields: ${pythonRepr(orderBy.map(describeOrderBy))}`,
        'INVALID_PARAMETER_VALUE',
      );
    }
    seen.add(identity);
    if (type === 'attribute') {
      const column = attributeColumn(key);
      order.push(`CASE WHEN ${column} IS NULL THEN 1 ELSE 0 END`, `${column} ${direction}`);
      return;
    }
    const alias = `o${i}`;
    const table = type === 'metric' ? 'latest_metrics' : type === 'parameter' ? 'params' : 'tags';
    joins.push(`LEFT JOIN ${table} ${alias} ON ${alias}.run_uuid = r.run_uuid AND ${alias}."key" = ${params.add(key)}`);
    order.push(
      type === 'metric'
        ? `CASE WHEN ${alias}.is_nan = TRUE THEN 1 WHEN ${alias}.value IS NULL THEN 2 ELSE 0 END`
        : `CASE WHEN ${alias}.value IS NULL THEN 1 ELSE 0 END`,
      `${alias}.value ${direction}`,
    );
  });
  if (!seen.has('attribute\u0000start_time')) order.push('r.start_time DESC');
  order.push('r.run_uuid ASC');
  return { joins, order };
}

const describeOrderBy = ({ type, key, ascending }: RunOrderBy) => `${type}.${key} ${ascending ? 'ASC' : 'DESC'}`;

/** Conditions on the experiments row `e`. */
export function experimentFilterConditions(
  dialect: Dialect,
  clauses: readonly ExperimentClause[],
  params: Params,
): string[] {
  return clauses.map(({ type, key, comparator, value }) => {
    if (type === 'tag') {
      return `EXISTS (SELECT 1 FROM experiment_tags f WHERE f.experiment_id = e.experiment_id AND f."key" = ${params.add(key)} AND ${comparison(dialect, 'f.value', comparator, value, params)})`;
    }
    return comparison(dialect, `e.${key}`, comparator, value, params);
  });
}

/** `creation_time DESC, experiment_id ASC` by default; `experiment_id DESC` breaks ties unless named. */
export function experimentOrderBy(orderBy: readonly ExperimentOrderBy[]): string[] {
  const entries = [...orderBy];
  if (!entries.some((entry) => entry.key === 'experiment_id')) entries.push({ key: 'experiment_id', ascending: false });
  return entries.map(({ key, ascending }) => `e.${key} ${ascending ? 'ASC' : 'DESC'}`);
}
