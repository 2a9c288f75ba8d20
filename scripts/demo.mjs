// `npm run demo`: until the example apps land (log-service, grading-service, portal), the demo says
// so and points at what works today.
console.log(`nestjs-etcd-discovery demo

The full demo (a throwaway etcd, 3 log-service instances, grading-service and portal, traffic
spread over the instances while some of them stop) arrives with the example apps.

What works today is registration; see it run against real etcd processes with:
  npm test
`);
