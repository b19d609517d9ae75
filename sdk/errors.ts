/**
 * MLflow's error model (`mlflow/exceptions.py`, `databricks.proto`): an error code name, a message,
 * and the HTTP status the tracking server would answer with. A plugin throws `MlflowError`; the host
 * hands it to the caller with code and message intact.
 */

/** Every `ErrorCode` of MLflow's protos, name → number. */
export const ERROR_CODES = {
  INTERNAL_ERROR: 1,
  TEMPORARILY_UNAVAILABLE: 2,
  IO_ERROR: 3,
  BAD_REQUEST: 4,
  SERVICE_UNDER_MAINTENANCE: 5,
  WORKSPACE_TEMPORARILY_UNAVAILABLE: 6,
  DEADLINE_EXCEEDED: 7,
  CANCELLED: 8,
  RESOURCE_EXHAUSTED: 9,
  ABORTED: 10,
  NOT_FOUND: 11,
  ALREADY_EXISTS: 12,
  UNAUTHENTICATED: 13,
  INVALID_PARAMETER_VALUE: 1000,
  ENDPOINT_NOT_FOUND: 1001,
  MALFORMED_REQUEST: 1002,
  INVALID_STATE: 1003,
  PERMISSION_DENIED: 1004,
  FEATURE_DISABLED: 1005,
  CUSTOMER_UNAUTHORIZED: 1006,
  REQUEST_LIMIT_EXCEEDED: 1007,
  RESOURCE_CONFLICT: 1008,
  UNPARSEABLE_HTTP_ERROR: 1009,
  NOT_IMPLEMENTED: 1010,
  DATA_LOSS: 1011,
  INVALID_STATE_TRANSITION: 2001,
  COULD_NOT_ACQUIRE_LOCK: 2002,
  RESOURCE_ALREADY_EXISTS: 3001,
  RESOURCE_DOES_NOT_EXIST: 3002,
  QUOTA_EXCEEDED: 4001,
  MAX_BLOCK_SIZE_EXCEEDED: 4002,
  MAX_READ_SIZE_EXCEEDED: 4003,
  PARTIAL_DELETE: 4004,
  MAX_LIST_SIZE_EXCEEDED: 4005,
  DRY_RUN_FAILED: 5001,
  RESOURCE_LIMIT_EXCEEDED: 5002,
  DIRECTORY_NOT_EMPTY: 6001,
  DIRECTORY_PROTECTED: 6002,
  MAX_NOTEBOOK_SIZE_EXCEEDED: 6003,
  MAX_CHILD_NODE_SIZE_EXCEEDED: 6004,
  SEARCH_QUERY_TOO_LONG: 6100,
  SEARCH_QUERY_TOO_SHORT: 6101,
  MANAGED_RESOURCE_GROUP_DOES_NOT_EXIST: 7001,
  PERMISSION_NOT_PROPAGATED: 7002,
  DEPLOYMENT_TIMEOUT: 7003,
  GIT_CONFLICT: 8001,
  GIT_UNKNOWN_REF: 8002,
  GIT_SENSITIVE_TOKEN_DETECTED: 8003,
  GIT_URL_NOT_ON_ALLOW_LIST: 8004,
  GIT_REMOTE_ERROR: 8005,
  PROJECTS_OPERATION_TIMEOUT: 8006,
  IPYNB_FILE_IN_REPO: 8007,
  INSECURE_PARTNER_RESPONSE: 8100,
  MALFORMED_PARTNER_RESPONSE: 8101,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** `ERROR_CODE_TO_HTTP_STATUS` of MLflow's server; every code not listed maps to 500. */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_PARAMETER_VALUE: 400,
  CUSTOMER_UNAUTHORIZED: 401,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ENDPOINT_NOT_FOUND: 404,
  RESOURCE_DOES_NOT_EXIST: 404,
  ABORTED: 409,
  RESOURCE_CONFLICT: 409,
  ALREADY_EXISTS: 409,
  REQUEST_LIMIT_EXCEEDED: 429,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The HTTP status MLflow's tracking server answers an error code with. */
export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? 500;
}

/**
 * MLflow's `MlflowException`. An unknown code becomes INTERNAL_ERROR, as in MLflow.
 * `name` is fixed so the error survives the trip through the worker boundary and `instanceof`-free
 * checks (`isMlflowError`) work on copies made by another realm.
 */
export class MlflowError extends Error {
  readonly errorCode: ErrorCode;

  constructor(message: string, errorCode: ErrorCode | string = 'INTERNAL_ERROR') {
    super(message);
    this.name = 'MlflowError';
    this.errorCode = isErrorCode(errorCode) ? errorCode : 'INTERNAL_ERROR';
  }

  get httpStatus(): number {
    return httpStatusOf(this.errorCode);
  }

  /** `serialize_as_json()`: the body MLflow's server answers with. */
  toJSON(): { error_code: ErrorCode; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }

  static invalidParameterValue(message: string): MlflowError {
    return new MlflowError(message, 'INVALID_PARAMETER_VALUE');
  }

  static resourceDoesNotExist(message: string): MlflowError {
    return new MlflowError(message, 'RESOURCE_DOES_NOT_EXIST');
  }

  static resourceAlreadyExists(message: string): MlflowError {
    return new MlflowError(message, 'RESOURCE_ALREADY_EXISTS');
  }

  static invalidState(message: string): MlflowError {
    return new MlflowError(message, 'INVALID_STATE');
  }

  static notImplemented(message: string): MlflowError {
    return new MlflowError(message, 'NOT_IMPLEMENTED');
  }
}

export function isMlflowError(error: unknown): error is MlflowError {
  return (
    error instanceof MlflowError ||
    (error instanceof Error && error.name === 'MlflowError' && isErrorCode((error as MlflowError).errorCode))
  );
}
