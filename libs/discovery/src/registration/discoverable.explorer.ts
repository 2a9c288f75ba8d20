import { Injectable, type Type } from '@nestjs/common';
import { DiscoveryService as NestDiscoveryService } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import { DiscoverableMetadata, type DiscoverableDeclaration } from './discoverable.decorator.js';
import { handlerPatterns, type HandlerPatterns } from './handler-patterns.js';
import { checkDeclaration } from './registration-checks.js';

/** A checked `@Discoverable()` declaration, the class that carries it, and the patterns it publishes. */
export interface ServiceDeclaration extends DiscoverableDeclaration {
  className: string;
  patterns: string[];
  events: string[];
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
    const byClass = new Map<unknown, Omit<ServiceDeclaration, 'patterns' | 'events'>>();
    for (const wrapper of wrappers) {
      // A class provided by several modules is one declaration, not several.
      if (byClass.has(wrapper.metatype)) continue;
      byClass.set(wrapper.metatype, this.declarationOf(wrapper));
    }
    const published = this.publishedPatterns([...byClass.keys()] as Type[]);
    const byName = new Map<string, ServiceDeclaration>();
    for (const [type, declaration] of byClass) {
      const other = byName.get(declaration.name);
      if (other)
        throw new DiscoveryOptionsError(
          messages.duplicateService(declaration.name, other.className, declaration.className),
        );
      const patterns = declaration.publishPatterns === false ? { patterns: [], events: [] } : published(type as Type);
      byName.set(declaration.name, { ...declaration, ...patterns });
    }
    return [...byName.values()];
  }

  /**
   * What each declaring class publishes: its own handlers' patterns; for a class with none (a
   * declaration for the whole app), those of every controller that is not a declaring class with
   * handlers of its own. Read once, at init, from the classes' metadata.
   */
  private publishedPatterns(declaring: readonly Type[]): (type: Type) => HandlerPatterns {
    const own = new Map(declaring.map((type) => [type, handlerPatterns([type])]));
    const hasOwn = (type: Type) => {
      const found = own.get(type);
      return found !== undefined && found.patterns.length + found.events.length > 0;
    };
    let appWide: HandlerPatterns | undefined;
    return (type) => {
      if (hasOwn(type)) return own.get(type)!;
      appWide ??= handlerPatterns(
        [...new Set(this.nestDiscovery.getControllers().map((wrapper) => wrapper.metatype as Type | undefined))].filter(
          (controller): controller is Type => controller !== undefined && !hasOwn(controller),
        ),
      );
      return appWide;
    };
  }

  private declarationOf(wrapper: InstanceWrapper): Omit<ServiceDeclaration, 'patterns' | 'events'> {
    const declaration = this.nestDiscovery.getMetadataByDecorator(DiscoverableMetadata, wrapper)!;
    const className = wrapper.metatype?.name ?? String(wrapper.token);
    checkDeclaration(declaration, className);
    return { ...declaration, className };
  }
}
