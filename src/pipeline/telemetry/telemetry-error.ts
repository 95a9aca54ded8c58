import { MdpError } from '../../core/errors.js';

/** Codes of the telemetry failures; none of them fails a job, the CLI logs them as warnings. */
export type TelemetryErrorCode =
  'MDP_TELEMETRY_PORT_IN_USE' | 'MDP_TELEMETRY_LISTEN' | 'MDP_TELEMETRY_PUSH';

/** The metrics server could not listen, or the Pushgateway refused or missed a push. */
export class TelemetryError extends MdpError {
  constructor(
    readonly code: TelemetryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
