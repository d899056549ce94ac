import { HttpClient } from "@mlsd/loadgen";
import type { Endpoint } from "./counters";

export interface WorldResponse {
  status: number;
  /** The parsed JSON body (undefined when the answer was not JSON). */
  body: unknown;
}

/** How the world reaches the services: one POST per action. Unit tests pass in-memory fakes. */
export type WorldTransport = (endpoint: Endpoint, body: object, signal: AbortSignal) => Promise<WorldResponse>;

export interface ServiceAddresses {
  recommenderUrl?: string | undefined;
  fraudUrl?: string | undefined;
  /** Bearer token of the click writer (the recommender's CLICK_WRITER_TOKEN). */
  clickToken?: string | undefined;
  /** Bearer token of the label writer (the fraud service's LABEL_WRITER_TOKEN). */
  labelToken?: string | undefined;
}

const ROUTES: Record<Endpoint, { service: "recommender" | "fraud"; path: string; token: "clickToken" | "labelToken" | null }> = {
  recommend: { service: "recommender", path: "/v1/recommendations", token: null },
  click: { service: "recommender", path: "/v1/events/click", token: "clickToken" },
  score: { service: "fraud", path: "/v1/transactions/score", token: null },
  label: { service: "fraud", path: "/v1/labels", token: "labelToken" },
};

/** Keep-alive HTTP to the recommender and the fraud service, with the writers' tokens where a route needs one. */
export function httpTransport(addresses: ServiceAddresses, maxSockets: number): { send: WorldTransport; close(): void } {
  const clients = {
    recommender: addresses.recommenderUrl ? new HttpClient({ baseUrl: addresses.recommenderUrl, maxSockets }) : null,
    fraud: addresses.fraudUrl ? new HttpClient({ baseUrl: addresses.fraudUrl, maxSockets }) : null,
  };
  return {
    send(endpoint, body, signal) {
      const route = ROUTES[endpoint];
      const client = clients[route.service];
      if (!client) return Promise.reject(new Error(`no ${route.service} URL was given`));
      const token = route.token ? addresses[route.token] : undefined;
      return client.postJson(route.path, JSON.stringify(body), signal, token ? { authorization: `Bearer ${token}` } : {});
    },
    close() {
      clients.recommender?.close();
      clients.fraud?.close();
    },
  };
}
