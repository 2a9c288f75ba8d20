import { Test } from '@nestjs/testing';
import { DiscoveryClient, DiscoveryError, NoEndpointAvailableError } from 'nestjs-etcd-discovery';
import { DiscoveryTestingModule } from 'nestjs-etcd-discovery/testing';

/** Sends a line to log-service, or keeps it for later when no instance may take it now. */
async function sendOrKeep(discovery: DiscoveryClient, line: string, later: string[]): Promise<void> {
  try {
    await discovery.call('log-service', (endpoint, { signal }) =>
      fetch(`http://${endpoint.address}/lines`, { method: 'POST', body: line, signal }),
    );
  } catch (error) {
    if (!(error instanceof DiscoveryError) || error.code !== 'NO_ENDPOINT') throw error;
    later.push(line);
  }
}

it('catches every error of the library as DiscoveryError, told apart by its code', async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryTestingModule.forRoot({ endpoints: { 'log-service': [] } })],
  }).compile();
  const app = await moduleRef.init();
  const later: string[] = [];

  await sendOrKeep(app.get(DiscoveryClient), 'graded ann: A', later);

  expect(later).toEqual(['graded ann: A']);
  const error = await app
    .get(DiscoveryClient)
    .call('log-service', async () => 'never')
    .catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(NoEndpointAvailableError);
  expect(error).toMatchObject({ code: 'NO_ENDPOINT', service: 'log-service' });
  await app.close();
});
