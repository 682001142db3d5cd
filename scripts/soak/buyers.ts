/**
 * The soak's mock buyers, in a process of their own (forked by main.ts, talking over IPC), so the
 * load generator's work does not delay their answers: accepting, rejecting, slow, flaky (500 every
 * other request), hanging, one that goes down and comes back, one behind a small cap.
 * Messages: {type: 'down' | 'up', id}, {type: 'report'}; every answer (and the first message, when
 * all listen) is the list of buyers with their port, request count and the leads they accepted.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort } from '@leadrouter/redis';

type Behaviour = (req: IncomingMessage, res: ServerResponse, n: number) => void;
interface Buyer {
  id: string;
  port: number;
  accepted: Set<string>;
  server: Server;
  behaviour: Behaviour;
  requests: number;
}

const accept = (res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"success"}');
};
const behaviours: Record<string, Behaviour> = {
  accepting: (_q, res) => accept(res),
  rejecting: (_q, res) => res.writeHead(400).end('{"result":"rejected"}'),
  slow: (_q, res) => setTimeout(() => accept(res), 300),
  flaky: (_q, res, n) => (n % 2 === 0 ? res.writeHead(500).end() : accept(res)),
  hanging: () => undefined,
  'down-then-up': (_q, res) => accept(res),
  capped: (_q, res) => accept(res),
};

async function startBuyer(id: string, port?: number): Promise<Buyer> {
  const buyer: Buyer = { id, port: port ?? (await freePort()), accepted: new Set(), server: undefined as unknown as Server, behaviour: behaviours[id] as Behaviour, requests: 0 };
  // Buyers honour Idempotency-Key as the contract asks of them: a repeat of a key gets the buyer's
  // decision again (a try that timed out on our side and is retried finds it); a 5xx decided nothing.
  const answered = new Map<string, number>();
  buyer.server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      buyer.requests += 1;
      const leadId = String(req.headers['x-lead-id']);
      const key = String(req.headers['idempotency-key']);
      const first = answered.get(key);
      if (first !== undefined) {
        res.writeHead(first).end(first < 300 ? '{"result":"success"}' : '{"result":"rejected"}');
        return;
      }
      res.on('finish', () => {
        if (res.statusCode < 500) answered.set(key, res.statusCode);
      });
      const end = res.end.bind(res);
      // Record the lead as accepted by this buyer exactly when it answers 2xx.
      res.end = ((...a: Parameters<ServerResponse['end']>) => {
        if (res.statusCode >= 200 && res.statusCode < 300) buyer.accepted.add(leadId);
        return end(...a);
      }) as ServerResponse['end'];
      buyer.behaviour(req, res, buyer.requests);
    });
  });
  await new Promise<void>((r) => buyer.server.listen(buyer.port, '127.0.0.1', r));
  return buyer;
}

const buyers = await Promise.all(Object.keys(behaviours).map((id) => startBuyer(id)));
const byId = new Map(buyers.map((b) => [b.id, b]));
const report = () => buyers.map((b) => ({ id: b.id, port: b.port, requests: b.requests, accepted: [...b.accepted] }));

process.on('message', (message: { type: 'down' | 'up' | 'report'; id?: string }) => {
  const buyer = message.id === undefined ? undefined : byId.get(message.id);
  if (message.type === 'down' && buyer) {
    buyer.server.closeAllConnections();
    buyer.server.close();
  } else if (message.type === 'up' && buyer) {
    buyer.server = createServer(buyer.server.listeners('request')[0] as (q: IncomingMessage, s: ServerResponse) => void);
    buyer.server.listen(buyer.port, '127.0.0.1');
  }
  process.send?.(report());
});
process.on('SIGTERM', () => {
  for (const b of buyers) {
    b.server.closeAllConnections();
    b.server.close();
  }
  process.exit(0);
});
process.send?.(report());
