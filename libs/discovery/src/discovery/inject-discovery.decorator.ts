import { Inject } from '@nestjs/common';
import { DiscoveryClient } from './discovery-client.js';

/** Injects the app's `DiscoveryClient`: `constructor(@InjectDiscovery() discovery: DiscoveryClient)`. */
export const InjectDiscovery = (): ParameterDecorator & PropertyDecorator => Inject(DiscoveryClient);
