// One Lambda execution environment for a Node.js runtime: `node bootstrap.js`.
//
// The Node.js counterpart of bootstrap.py: the function's module is loaded from LAMBDA_TASK_ROOT
// (the runtime's SDK is found through NODE_PATH, as Lambda provides it), invocations arrive as
// JSON lines on stdin, answers leave as JSON lines on the protocol descriptor, and console output
// goes to the environment's log. Two concessions to an emulator without DNS or TLS, both limited
// to requests addressed to the emulator itself (REHEARSAL_ENDPOINT):
//   * S3 clients use path-style addressing (bucket.localhost does not resolve);
//   * https requests to the emulator go over http (a custom resource's ResponseURL).
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const Module = require('module');
const path = require('path');
const readline = require('readline');

const own = {};
for (const key of ['REHEARSAL_PROTOCOL_FD', 'REHEARSAL_ENDPOINT', 'REHEARSAL_ARN']) {
  own[key] = process.env[key];
  delete process.env[key];
}
const protocolFd = Number(own.REHEARSAL_PROTOCOL_FD);
const endpoint = new URL(own.REHEARSAL_ENDPOINT);

function toEmulator(options) {
  const host = typeof options === 'string' ? new URL(options).host : options.host || options.hostname;
  return host === endpoint.host || host === endpoint.hostname;
}

const httpsRequest = https.request;
https.request = function request(options, ...rest) {
  if (toEmulator(options)) {
    const plain = typeof options === 'string' ? options.replace(/^https:/, 'http:') : { ...options, protocol: 'http:', port: options.port || endpoint.port };
    return http.request(plain, ...rest);
  }
  return httpsRequest.call(this, options, ...rest);
};

const load = Module._load;
Module._load = function patchedLoad(request, ...rest) {
  const loaded = load.call(this, request, ...rest);
  if (request !== '@aws-sdk/client-s3') {
    return loaded;
  }
  const pathStyle = (Client) => class extends Client {
    constructor(config = {}) {
      super({ forcePathStyle: true, ...config });
    }
  };
  // The bare client and the aggregated one (CDK's handlers use `new S3({})`).
  return { ...loaded, S3Client: pathStyle(loaded.S3Client), S3: pathStyle(loaded.S3) };
};

function errorOf(kind, error) {
  return {
    errorType: kind || (error && error.name) || 'Error',
    errorMessage: error && error.message ? error.message : String(error),
    stackTrace: error && error.stack ? String(error.stack).split('\n') : [],
  };
}

function loadHandler() {
  const spec = process.env._HANDLER;
  const dot = spec.lastIndexOf('.');
  const modulePath = path.join(process.env.LAMBDA_TASK_ROOT, spec.slice(0, dot));
  try {
    const loaded = require(modulePath);
    const handler = loaded[spec.slice(dot + 1)];
    if (typeof handler !== 'function') {
      return [null, errorOf('Runtime.HandlerNotFound', new Error(`${spec} is undefined or not exported`))];
    }
    return [handler, null];
  } catch (error) {
    const kind = error && error.code === 'MODULE_NOT_FOUND' ? 'Runtime.ImportModuleError' : null;
    return [null, errorOf(kind, error)];
  }
}

function context(requestId, deadlineMs) {
  return {
    awsRequestId: requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: own.REHEARSAL_ARN,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
}

function invoke(handler, event, ctx) {
  return new Promise((resolve, reject) => {
    const callback = (error, result) => (error ? reject(error) : resolve(result));
    try {
      const returned = handler(event, ctx, callback);
      if (returned && typeof returned.then === 'function') {
        returned.then(resolve, reject);
      }
    } catch (error) {
      reject(error);
    }
  });
}

function answer(message) {
  fs.writeSync(protocolFd, `${JSON.stringify(message)}\n`);
}

async function main() {
  const [handler, initError] = loadHandler();
  if (initError) {
    console.error(`INIT_REPORT ${JSON.stringify(initError)}`);
  }
  const lines = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    const request = JSON.parse(line);
    if (initError) {
      answer({ id: request.id, error: initError });
      process.exit(0);
    }
    console.error(`START RequestId: ${request.id}`);
    try {
      const result = await invoke(handler, request.event, context(request.id, request.deadline_ms));
      answer({ id: request.id, result: result === undefined ? null : result });
    } catch (error) {
      console.error(error);
      answer({ id: request.id, error: errorOf(null, error) });
    }
    console.error(`END RequestId: ${request.id}`);
  }
}

main();
