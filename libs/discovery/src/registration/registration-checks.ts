import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import * as validate from '../options/validation.js';
import type { DiscoverableDeclaration } from './discoverable.decorator.js';
import type { ServiceRegistration } from './service-registration.interface.js';

/**
 * The checks at the two edges where registrations enter: `@Discoverable()` declarations, at module
 * init (host and port may still be unknown), and `ServiceRegistry.register()`, for registrations by
 * hand. Past these, nothing is checked again.
 */
export function checkDeclaration(declaration: DiscoverableDeclaration, className: string): void {
  validate.assertServiceName(declaration.name, `@Discoverable() on ${className}`);
  checkInstance(declaration, declaration.name);
  if (declaration.publishPatterns !== undefined && typeof declaration.publishPatterns !== 'boolean') {
    throw new DiscoveryOptionsError(messages.badPublishPatterns(className, declaration.publishPatterns));
  }
  if (declaration.requires !== undefined) {
    if (!Array.isArray(declaration.requires))
      throw new DiscoveryOptionsError(messages.badRequires(declaration.requires));
    for (const required of declaration.requires)
      validate.assertServiceName(required, `\`requires\` of @Discoverable() on ${className}`);
  }
}

export function checkRegistration(registration: ServiceRegistration): void {
  validate.assertServiceName(registration.service, 'ServiceRegistry.register()');
  validate.assertAdvertisedHost(registration.host, registration.service);
  validate.assertPort(registration.port, registration.service);
  checkInstance(registration, registration.service);
}

/** The fields both edges share; each is optional here (required ones are checked by the caller). */
function checkInstance(fields: Partial<ServiceRegistration>, service: string): void {
  if (fields.port !== undefined) validate.assertPort(fields.port, service);
  if (fields.host !== undefined) validate.assertAdvertisedHost(fields.host, service);
  if (fields.id !== undefined) validate.assertInstanceId(fields.id, service);
  if (fields.weight !== undefined) validate.assertWeight(fields.weight, service);
  if (fields.metadata !== undefined) validate.assertMetadata(fields.metadata, service);
  validate.assertOptionalLabel(fields.version, service, 'version');
  validate.assertOptionalLabel(fields.zone, service, 'zone');
  validate.assertPatternList(fields.patterns, service, 'patterns');
  validate.assertPatternList(fields.events, service, 'events');
}
