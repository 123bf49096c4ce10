export const webRoot: string;
export function bin(name: string): string;
export function consentry(args: string[], env?: Record<string, string>): string;
export interface RunningStack {
  dir: string;
  apiUrl: string;
  nodeWs: string;
  nodeHttp: string;
  pepper: string;
  hospital: string;
  enrol(index: number, address: string): { pseudonym: string };
  stopNode(): void;
  stop(): Promise<void>;
}
export function startStack(opts?: { webDir?: string | null; log?: string; publicUrl?: string }): Promise<RunningStack>;
/** What a browser test reads of the system it runs against: one it started, or the one a JSON file names (`CONSENTRY_WEB_E2E_STACK`). */
export interface TestStack {
  app: string;
  nodeWs: string;
  pepper: string;
  hospital: string;
  stop?: () => Promise<void>;
}
