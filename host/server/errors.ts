/**
 * MLflow's error answers: the JSON envelope `{"error_code", "message"}` with the status of
 * `httpStatusOf` (RESOURCE_ALREADY_EXISTS is 400), plus MLflow 3's `sqlstate` and `error_class`
 * (`mlflow/exceptions.py`), and the HTML pages MLflow's server (Flask/werkzeug) answers for an
 * unknown route or a wrong method.
 */
import { isMlflowError, MlflowError, type ErrorCode } from '@flowhost/sdk';

/** MLflow 3's error class and SQLSTATE per error code, as its server sends them. */
const ERROR_CLASSES: Partial<Record<ErrorCode, { sqlstate: string; errorClass: string }>> = {
  INVALID_PARAMETER_VALUE: { sqlstate: 'KAM00', errorClass: 'INVALID_PARAMETER_VALUE' },
  BAD_REQUEST: { sqlstate: 'KAM00', errorClass: 'INVALID_PARAMETER_VALUE' },
  RESOURCE_DOES_NOT_EXIST: { sqlstate: 'KAM00', errorClass: 'RESOURCE_NOT_FOUND' },
  RESOURCE_ALREADY_EXISTS: { sqlstate: 'KAM00', errorClass: 'RESOURCE_ALREADY_EXISTS' },
  INVALID_STATE: { sqlstate: 'XXM00', errorClass: 'CLIENT_INTERNAL_ERROR' },
  INTERNAL_ERROR: { sqlstate: 'XXM00', errorClass: 'CLIENT_INTERNAL_ERROR' },
  PERMISSION_DENIED: { sqlstate: 'KAM00', errorClass: 'PERMISSION_DENIED' },
  UNAUTHENTICATED: { sqlstate: 'KAM00', errorClass: 'UNAUTHENTICATED' },
  REQUEST_LIMIT_EXCEEDED: { sqlstate: 'KAM00', errorClass: 'REQUEST_LIMIT_EXCEEDED' },
};

export interface ErrorAnswer {
  status: number;
  body: Record<string, string>;
}

/**
 * The answer for an error thrown while serving a request. An MlflowError keeps its code and
 * message; anything else is an INTERNAL_ERROR whose message does not leak the host's internals.
 */
export function errorAnswer(error: unknown): ErrorAnswer {
  const mlflow = isMlflowError(error)
    ? error
    : new MlflowError('An internal error occurred while serving the request.', 'INTERNAL_ERROR');
  const body: Record<string, string> = { error_code: mlflow.errorCode, message: mlflow.message };
  const extra = ERROR_CLASSES[mlflow.errorCode];
  if (extra && !(mlflow as MlflowError & { bare?: boolean }).bare) {
    body.sqlstate = extra.sqlstate;
    body.error_class = extra.errorClass;
  }
  return { status: mlflow.httpStatus, body };
}

/** An error MLflow answers without `sqlstate`/`error_class` (its artifact handlers build the JSON by hand). */
export function bareError(message: string, code: ErrorCode): MlflowError {
  return Object.assign(new MlflowError(message, code), { bare: true });
}

/** werkzeug's pages, byte for byte, so a client that shows them shows what MLflow's would. */
export const HTML_PAGES = {
  404: '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n',
  405: '<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n',
} as const;

/** The validation messages of MLflow 3's request checks (`mlflow/server/handlers.py`). */
export const requestErrors = {
  missing: (name: string) =>
    MlflowError.invalidParameterValue(
      `Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`,
    ),
  invalid: (name: string, shown: string, pythonType: string) =>
    MlflowError.invalidParameterValue(
      `Invalid value ${shown} for parameter '${name}' supplied:  Hint: Value was of type '${pythonType}'. See the API docs for more information about request parameters.`,
    ),
  contentTypeMissing: () => MlflowError.invalidParameterValue('Bad Request. Content-Type header is missing.'),
  contentTypeWrong: () =>
    MlflowError.invalidParameterValue("Bad Request. Content-Type must be one of ['application/json']."),
  invalidPath: () => MlflowError.invalidParameterValue('Invalid path'),
};
