import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService as NestDiscoveryService } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import { DiscoverableMetadata, type DiscoverableDeclaration } from './discoverable.decorator.js';
import { checkDeclaration } from './registration-checks.js';

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
    checkDeclaration(declaration, className);
    return { ...declaration, className };
  }
}
