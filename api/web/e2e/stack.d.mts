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
