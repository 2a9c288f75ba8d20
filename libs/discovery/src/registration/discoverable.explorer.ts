import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService as NestDiscoveryService } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import * as validate from '../options/validation.js';
import { DiscoverableMetadata, type DiscoverableDeclaration } from './discoverable.decorator.js';

/** A checked `@Discoverable()` declaration and the class that carries it. */
export interface ServiceDeclaration extends DiscoverableDeclaration {
  className: string;
}

/**
 * Finds every `@Discoverable()` class among the app's providers and controllers at module init and
 * checks the declarations, so that a bad one stops the app before it starts serving.
 */
@Injectable()
export class DiscoverableExplorer implements OnModuleInit {
  private found: ServiceDeclaration[] = [];

  constructor(private readonly nestDiscovery: NestDiscoveryService) {}

  get declarations(): readonly ServiceDeclaration[] {
    return this.found;
  }

  /** The services the declarations say they call. */
  get requiredServices(): string[] {
    return [...new Set(this.found.flatMap((declaration) => declaration.requires ?? []))];
  }

  onModuleInit(): void {
    const wrappers = [
      ...this.nestDiscovery.getControllers({ metadataKey: DiscoverableMetadata.KEY }),
      ...this.nestDiscovery.getProviders({ metadataKey: DiscoverableMetadata.KEY }),
    ];
    const byClass = new Map<unknown, ServiceDeclaration>();
    for (const wrapper of wrappers) {
      // A class provided by several modules is one declaration, not several.
      if (byClass.has(wrapper.metatype)) continue;
      byClass.set(wrapper.metatype, this.declarationOf(wrapper));
    }
    const byName = new Map<string, ServiceDeclaration>();
    for (const declaration of byClass.values()) {
      const other = byName.get(declaration.name);
      if (other) throw new DiscoveryOptionsError(messages.duplicateService(declaration.name, other.className, declaration.className));
      byName.set(declaration.name, declaration);
    }
    this.found = [...byName.values()];
  }

  private declarationOf(wrapper: InstanceWrapper): ServiceDeclaration {
    const declaration = this.nestDiscovery.getMetadataByDecorator(DiscoverableMetadata, wrapper)!;
    const className = wrapper.metatype?.name ?? String(wrapper.token);
    const { name } = declaration;
    validate.assertServiceName(name, `@Discoverable() on ${className}`);
    if (declaration.port !== undefined) validate.assertPort(declaration.port, name);
    if (declaration.host !== undefined) validate.assertAdvertisedHost(declaration.host, name);
    if (declaration.id !== undefined) validate.assertInstanceId(declaration.id, name);
    if (declaration.weight !== undefined) validate.assertWeight(declaration.weight, name);
    if (declaration.metadata !== undefined) validate.assertMetadata(declaration.metadata, name);
    validate.assertOptionalLabel(declaration.version, name, 'version');
    validate.assertOptionalLabel(declaration.zone, name, 'zone');
    if (declaration.requires !== undefined) {
      if (!Array.isArray(declaration.requires)) throw new DiscoveryOptionsError(messages.badRequires(declaration.requires));
      for (const required of declaration.requires) validate.assertServiceName(required, `\`requires\` of @Discoverable() on ${className}`);
    }
    return { ...declaration, className };
  }
}
