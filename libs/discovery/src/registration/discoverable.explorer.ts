import { Injectable } from '@nestjs/common';
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
 * Finds every `@Discoverable()` class among the app's providers and controllers and checks the
 * declarations when Nest creates it — while the app's providers are being created, as a bad option
 * is found — so that a bad one stops `NestFactory.create()` through Nest's ExceptionHandler, before
 * any route is mapped or port opened. The classes' metadata is all it reads: no instance is needed.
 */
@Injectable()
export class DiscoverableExplorer {
  private readonly found: ServiceDeclaration[];

  constructor(private readonly nestDiscovery: NestDiscoveryService) {
    this.found = this.explore();
  }

  get declarations(): readonly ServiceDeclaration[] {
    return this.found;
  }

  private explore(): ServiceDeclaration[] {
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
    return [...byName.values()];
  }

  private declarationOf(wrapper: InstanceWrapper): ServiceDeclaration {
    const declaration = this.nestDiscovery.getMetadataByDecorator(DiscoverableMetadata, wrapper)!;
    const className = wrapper.metatype?.name ?? String(wrapper.token);
    checkDeclaration(declaration, className);
    return { ...declaration, className };
  }
}
