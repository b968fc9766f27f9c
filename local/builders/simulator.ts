/** Local mode's Marketo simulator, serving the demo client. */
import { PortInUseError } from '../http-guard.js';
import type { SimulatedLimits } from '../marketo-limits.js';
import { createMarketoSimulator, DEMO_CLIENT, type MarketoSimulator } from '../marketo-simulator.js';
import type { SimulatedBulkOptions } from '../simulator/bulk.js';

/** Starts the simulator on 127.0.0.1:`port`; rejects with `PortInUseError` when the port is taken. */
export async function startSimulator(options: {
  readonly port: number;
  readonly tokenLifespanSeconds: number;
  readonly limits?: true | Partial<SimulatedLimits>;
  readonly bulk?: Partial<SimulatedBulkOptions>;
}): Promise<MarketoSimulator> {
  const simulator = createMarketoSimulator({
    clients: [DEMO_CLIENT],
    port: options.port,
    tokenLifespanSeconds: options.tokenLifespanSeconds,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.bulk === undefined ? {} : { bulk: options.bulk }),
  });
  try {
    await simulator.start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw code === 'EADDRINUSE' ? new PortInUseError(options.port, 'Marketo simulator') : error;
  }
  return simulator;
}
