/** The built-in attack library: every technique Bulwark ships, by id. */
import { bruteForce, credentialStuffing, insecureDirectObjectReference } from './auth.ts';
import { exposureProbes } from './exposure.ts';
import { canaryCredential, configFlip, logTamper } from './host-tampering.ts';
import { forgedJwt } from './jwt.ts';
import { requestBurst } from './request-burst.ts';
import type { Technique } from './technique.ts';
import { tlsCheck } from './tls-check.ts';
import {
  commandInjection,
  crossSiteScripting,
  headerInjection,
  pathTraversal,
  serverSideRequestForgery,
  sqlInjection,
  xmlExternalEntity,
} from './web-injection.ts';

/** Every built-in technique, in the order `bulwark techniques list` shows them. */
export const TECHNIQUES: readonly Technique<any>[] = [
  sqlInjection,
  crossSiteScripting,
  pathTraversal,
  commandInjection,
  serverSideRequestForgery,
  xmlExternalEntity,
  headerInjection,
  bruteForce,
  credentialStuffing,
  forgedJwt,
  insecureDirectObjectReference,
  exposureProbes,
  requestBurst,
  tlsCheck,
  configFlip,
  canaryCredential,
  logTamper,
];

/** The technique with this id, or undefined. */
export function findTechnique(id: string): Technique<any> | undefined {
  return TECHNIQUES.find((t) => t.id === id);
}
