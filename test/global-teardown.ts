export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __dtfServer?: { stop(): Promise<void> } }).__dtfServer;
  if (server) await server.stop();
}
