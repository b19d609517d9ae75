/** Throws an MlflowError: code and message must reach the caller intact. */
import { MlflowError } from '@flowhost/sdk';
import { misbehaving } from './lib/base.js';

export default misbehaving(() => {
  throw new MlflowError('Experiment boom is locked', 'RESOURCE_CONFLICT');
});
