/**
 * The basic-auth app's checks and routes (`mlflow/server/auth/__init__.py`): which permission each
 * MLflow route needs on which experiment or registered model (`BEFORE_REQUEST_HANDLERS`), what
 * happens after (the creator gets MANAGE; searches show only what the user may read), and the
 * REST routes for users and permissions. Admins pass every check.
 */
import { MlflowError } from '@flowhost/sdk';
import type { Ability, AuthStore, User } from './auth.js';
import type { Message } from './request.js';
import type { Backends } from './routes.js';

export interface Caller {
  readonly user: User;
  readonly workspace: string;
  readonly backends: Backends;
}

type Check = (message: Message, caller: Caller, store: AuthStore) => Promise<boolean>;

const NOT_FOUND_PASSES = async (
  lookup: () => Promise<string | null>,
  decide: (key: string) => boolean,
): Promise<boolean> => {
  let key: string | null;
  try {
    key = await lookup();
  } catch (error) {
    // A missing object is not a secret: the route answers its own 404.
    if (error instanceof MlflowError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return true;
    throw error;
  }
  return key === null ? true : decide(key);
};

const experiment =
  (ability: Ability, field = 'experiment_id'): Check =>
  async (m, caller, store) =>
    m[field] === undefined || store.permission('experiment', caller.workspace, String(m[field]), caller.user)[ability];

const experimentByName =
  (ability: Ability): Check =>
  async (m, caller, store) =>
    NOT_FOUND_PASSES(
      async () =>
        (await (await caller.backends.tracking()).getExperimentByName(String(m.experiment_name)))?.experimentId ?? null,
      (id) => store.permission('experiment', caller.workspace, id, caller.user)[ability],
    );

const experimentOfRun = async (caller: Caller, runId: string) =>
  (await (await caller.backends.tracking()).getRun(runId)).info.experimentId;

const run =
  (ability: Ability, field = 'run_id'): Check =>
  async (m, caller, store) => {
    const ids = m[field] === undefined ? [] : Array.isArray(m[field]) ? (m[field] as string[]) : [String(m[field])];
    for (const id of ids) {
      const allowed = await NOT_FOUND_PASSES(
        () => experimentOfRun(caller, id),
        (experimentId) => store.permission('experiment', caller.workspace, experimentId, caller.user)[ability],
      );
      if (!allowed) return false;
    }
    return true;
  };

const model =
  (ability: Ability, field = 'name'): Check =>
  async (m, caller, store) =>
    m[field] === undefined ||
    store.permission('registered_model', caller.workspace, String(m[field]), caller.user)[ability];

const anyone: Check = async () => true;

/** Route → the check before it; a route not listed is open to every authenticated user. */
const BEFORE: Readonly<Record<string, Check>> = {
  'experiments/create': anyone,
  'experiments/get': experiment('read'),
  'experiments/get-by-name': experimentByName('read'),
  'experiments/delete': experiment('delete'),
  'experiments/restore': experiment('delete'),
  'experiments/update': experiment('update'),
  'experiments/set-experiment-tag': experiment('update'),
  'experiments/delete-experiment-tag': experiment('update'),
  'runs/create': experiment('update'),
  'runs/get': run('read'),
  'runs/delete': run('delete'),
  'runs/restore': run('delete'),
  'runs/update': run('update'),
  'runs/log-metric': run('update'),
  'runs/log-batch': run('update'),
  'runs/log-model': run('update'),
  'runs/log-inputs': run('update'),
  'runs/set-tag': run('update'),
  'runs/delete-tag': run('update'),
  'runs/log-parameter': run('update'),
  'runs/search': async (m, caller, store) =>
    ((m.experiment_ids as string[] | undefined) ?? []).every(
      (id) => store.permission('experiment', caller.workspace, id, caller.user).read,
    ),
  'metrics/get-history': run('read'),
  'metrics/get-history-bulk-interval': run('read', 'run_ids'),
  'metrics/get-history-bulk': run('read'),
  'artifacts/list': run('read'),
  'get-artifact': run('read'),
  'registered-models/create': anyone,
  'registered-models/get': model('read'),
  'registered-models/delete': model('delete'),
  'registered-models/update': model('update'),
  'registered-models/rename': model('update'),
  'registered-models/get-latest-versions': model('read'),
  'registered-models/set-tag': model('update'),
  'registered-models/delete-tag': model('update'),
  'registered-models/alias:POST': model('update'),
  'registered-models/alias:DELETE': model('delete'),
  'registered-models/alias:GET': model('read'),
  'model-versions/create': model('update'),
  'model-versions/get': model('read'),
  'model-versions/delete': model('delete'),
  'model-versions/update': model('update'),
  'model-versions/transition-stage': model('update'),
  'model-versions/get-download-uri': model('read'),
  'model-versions/set-tag': model('update'),
  'model-versions/delete-tag': model('delete'),
  'model-versions/get-artifact': model('read'),
};

const PROXY_ABILITY: Readonly<Record<string, Ability>> = {
  GET: 'read',
  PUT: 'update',
  POST: 'update',
  DELETE: 'delete',
};

/** Whether the caller may make this request (admins always may). */
export async function allowed(
  route: string,
  method: string,
  message: Message,
  caller: Caller,
  store: AuthStore,
): Promise<boolean> {
  if (caller.user.isAdmin) return true;
  if (route === 'mlflow-artifacts') {
    // `<experiment id>/<run id>/artifacts/…`: the experiment's permission, else the default.
    const experimentId = String(message.path ?? '').split('/')[0];
    const permission = /^\d+$/.test(experimentId)
      ? store.permission('experiment', caller.workspace, experimentId, caller.user)
      : undefined;
    return (permission ?? store.permission('experiment', caller.workspace, '', caller.user))[
      PROXY_ABILITY[method] ?? 'manage'
    ];
  }
  const check = BEFORE[`${route}:${method}`] ?? BEFORE[route] ?? anyone;
  return check(message, caller, store);
}

/** What follows a request that succeeded: the creator's MANAGE, permissions following a model, searches filtered. */
export async function after(
  route: string,
  message: Message,
  answer: unknown,
  caller: Caller,
  store: AuthStore,
): Promise<unknown> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- MLflow's JSON answers, read field by field
  const json = answer as Record<string, any>;
  switch (route) {
    case 'experiments/create':
      store.createPermission(
        'experiment',
        caller.workspace,
        String(json.experiment_id),
        caller.user.username,
        'MANAGE',
      );
      return answer;
    case 'registered-models/create':
      store.createPermission(
        'registered_model',
        caller.workspace,
        String(json.registered_model.name),
        caller.user.username,
        'MANAGE',
      );
      return answer;
    case 'registered-models/delete':
      store.forgetModel(caller.workspace, String(message.name));
      return answer;
    case 'registered-models/rename':
      store.renameModel(caller.workspace, String(message.name), String(message.new_name));
      return answer;
  }
  if (caller.user.isAdmin) return answer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- MLflow's JSON answers, read field by field
  const keep = (key: string, readable: (item: Record<string, any>) => boolean) => {
    if (!Array.isArray(json[key])) return answer;
    const items = json[key].filter(readable);
    const { [key]: _dropped, ...rest } = json;
    return items.length ? { ...rest, [key]: items } : rest;
  };
  switch (route) {
    case 'experiments/search':
      return keep(
        'experiments',
        (e) => store.permission('experiment', caller.workspace, e.experiment_id, caller.user).read,
      );
    case 'registered-models/search':
      return keep(
        'registered_models',
        (rm) => store.permission('registered_model', caller.workspace, rm.name, caller.user).read,
      );
    case 'model-versions/search':
      return keep(
        'model_versions',
        (mv) => store.permission('registered_model', caller.workspace, mv.name, caller.user).read,
      );
    default:
      return answer;
  }
}

// --- the app's own routes: users and permissions

const required = (message: Message, name: string): string => {
  const value = message[name];
  if (value === undefined || value === null || value === '')
    throw MlflowError.invalidParameterValue(
      `Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`,
    );
  return String(value);
};

type AuthRoute = (message: Message, caller: Caller, store: AuthStore) => Promise<unknown> | unknown;

const adminOnly = (_message: Message, caller: Caller) => caller.user.isAdmin;
const selfOrAdmin = (message: Message, caller: Caller) =>
  caller.user.isAdmin || message.username === caller.user.username;
const manages =
  (kind: 'experiment' | 'registered_model', field: string) => (message: Message, caller: Caller, store: AuthStore) =>
    caller.user.isAdmin || store.permission(kind, caller.workspace, String(message[field] ?? ''), caller.user).manage;

/** Path (after the API prefix) and method → who may call it, and what it does. */
export const AUTH_ROUTES: Readonly<
  Record<string, { may: (message: Message, caller: Caller, store: AuthStore) => boolean; run: AuthRoute }>
> = {
  'users/create:POST': {
    may: adminOnly,
    run: async (m, caller, store) => {
      const username = m.username;
      const password = m.password;
      if (!username || !password) throw MlflowError.invalidParameterValue('Username and password cannot be empty.');
      await store.createUser(String(username), String(password));
      return { user: store.userJson(String(username), caller.workspace) };
    },
  },
  'users/get:GET': {
    may: selfOrAdmin,
    run: (m, caller, store) => ({ user: store.userJson(required(m, 'username'), caller.workspace) }),
  },
  'users/current:GET': {
    may: () => true,
    run: (_m, caller, store) => ({ user: store.userJson(caller.user.username, caller.workspace) }),
  },
  'users/list:GET': { may: adminOnly, run: (_m, _caller, store) => ({ users: store.listUsers() }) },
  'users/update-password:PATCH': {
    may: selfOrAdmin,
    run: async (m, _caller, store) => {
      await store.updatePassword(required(m, 'username'), required(m, 'password'));
      return {};
    },
  },
  'users/update-admin:PATCH': {
    may: adminOnly,
    run: (m, _caller, store) => {
      const flag = m.is_admin;
      store.updateAdmin(required(m, 'username'), flag === true || flag === 'true' || flag === 'True');
      return {};
    },
  },
  'users/delete:DELETE': {
    may: adminOnly,
    run: (m, _caller, store) => {
      store.deleteUser(required(m, 'username'));
      return {};
    },
  },
  ...permissionRoutes('experiments', 'experiment', 'experiment_id', 'experiment_permission'),
  ...permissionRoutes('registered-models', 'registered_model', 'name', 'registered_model_permission'),
};

function permissionRoutes(prefix: string, kind: 'experiment' | 'registered_model', field: string, answerKey: string) {
  const may = manages(kind, field);
  return {
    [`${prefix}/permissions/create:POST`]: {
      may,
      run: (m: Message, c: Caller, s: AuthStore) => ({
        [answerKey]: s.createPermission(
          kind,
          c.workspace,
          required(m, field),
          required(m, 'username'),
          required(m, 'permission'),
        ),
      }),
    },
    [`${prefix}/permissions/get:GET`]: {
      may,
      run: (m: Message, c: Caller, s: AuthStore) => ({
        [answerKey]: s.getPermission(kind, c.workspace, required(m, field), required(m, 'username')),
      }),
    },
    [`${prefix}/permissions/update:PATCH`]: {
      may,
      run: (m: Message, c: Caller, s: AuthStore) => {
        s.updatePermission(kind, c.workspace, required(m, field), required(m, 'username'), required(m, 'permission'));
        return {};
      },
    },
    [`${prefix}/permissions/delete:DELETE`]: {
      may,
      run: (m: Message, c: Caller, s: AuthStore) => {
        s.deletePermission(kind, c.workspace, required(m, field), required(m, 'username'));
        return {};
      },
    },
  };
}
