/**
 * The failure converter of processes that run the codec (loaded by path, as the SDK requires): a failure's message
 * and stack trace move into an encoded payload, so the codec encrypts them too (an activity's error message may
 * quote a command's output). Only "Encoded failure" and the failure's type stay in clear.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
