/**
 * The market's buyers as real HTTP servers (one server, a path per buyer). Each answers LeadRouter
 * as its hidden terms say: 2xx to accept, 422 to reject, 503 while down; it honours
 * Idempotency-Key (a repeat gets the same answer); after a sale it sends LeadRouter's postback
 * service what a real buyer would: a payout correction when its price has changed, and a
 * `returned` postback a while later for a lead it sends back.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { accepts, bidFor, returns, type LeadDraw, type Market } from './market.js';

export interface LeadRecord {
  /** The buyer that got the first request for the lead. */
  firstOffer?: string;
  soldTo?: string;
  /** Buyers that answered (accepted or rejected), and what they answered. */
  answers: Map<string, boolean>;
  revenue: number;
}

export interface BuyersServer {
  port: number;
  /** By lead index. */
  leads: LeadRecord[];
  /** Leads that two buyers accepted (must stay 0). */
  doubleSold: number;
  requests: number;
  /** Postbacks sent and not yet answered. */
  pendingPostbacks(): number;
  /** Postbacks that failed every time, and repeats of postbacks that failed at first. */
  postbackFailures: number;
  postbackRetries: number;
  close(): Promise<void>;
}

export interface BuyersOptions {
  market: Market;
  draws: LeadDraw[];
  postbackUrl: () => string;
  postbackToken: string;
  /** How long after a sale a buyer sends a lead back. */
  returnDelayMs: number;
}

export async function startBuyers(options: BuyersOptions): Promise<BuyersServer> {
  const { market, draws } = options;
  const index = new Map(market.buyers.map((b, i) => [b.id, i]));
  const leads: LeadRecord[] = draws.map(() => ({ answers: new Map(), revenue: 0 }));
  const timers = new Set<NodeJS.Timeout>();
  let pending = 0;
  const state = { doubleSold: 0, requests: 0, postbackFailures: 0, postbackRetries: 0 };

  // Like a real buyer's, a postback that fails is sent again (a postback can race LeadRouter
  // recording the sale it is about, and then finds no sold lead yet: 404).
  const postback = (delayMs: number, buyer: string, leadId: string, status: string, payout?: number, attempt = 1): void => {
    if (attempt === 1) pending += 1;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const query = new URLSearchParams({ lead_id: leadId, status, token: options.postbackToken, ...(payout === undefined ? {} : { payout: String(payout) }) });
      fetch(`${options.postbackUrl()}/v1/postbacks/${buyer}?${query.toString()}`)
        .then(async (res) => {
          await res.arrayBuffer();
          return res.ok;
        })
        .catch(() => false)
        .then((ok) => {
          if (!ok && attempt < 8) return postback(250 * attempt, buyer, leadId, status, payout, attempt + 1);
          if (!ok) state.postbackFailures += 1;
          if (!ok || attempt > 1) state.postbackRetries += attempt - 1;
          pending -= 1;
        });
    }, delayMs);
    timers.add(timer);
  };

  const answer = (res: ServerResponse, accepted: boolean): void => {
    res.writeHead(accepted ? 200 : 422, { 'content-type': 'application/json' }).end(accepted ? '{"result":"accepted"}' : '{"result":"rejected"}');
  };

  /** A ping (auction market): the lead's index is its `sim` field (a ping has no click_id); the bid is drawn. */
  const ping = (res: ServerResponse, buyerId: string, body: string): void => {
    const b = index.get(buyerId);
    let n: number;
    try {
      n = Number((JSON.parse(body) as { sim?: unknown }).sim ?? -1);
    } catch {
      n = -1;
    }
    const bid = b === undefined || !draws[n] ? undefined : bidFor(market, draws, n, b);
    if (b !== undefined && market.buyers[b]?.terms(n).down) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(bid === undefined ? { status: 'pass' } : { status: 'ok', price: bid }));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    state.requests += 1;
    if ((req.url ?? '').endsWith('/ping')) return ping(res, decodeURIComponent((req.url ?? '').replace(/^\/buyer\//, '').replace(/\/ping$/, '')), body);
    const buyerId = decodeURIComponent((req.url ?? '').replace(/^\/buyer\//, ''));
    const b = index.get(buyerId);
    let parsed: { lead?: string; click?: string; price?: unknown };
    try {
      parsed = JSON.parse(body) as { lead?: string; click?: string; price?: unknown };
    } catch {
      parsed = {};
    }
    const n = Number(/^sim-(\d+)$/.exec(parsed.click ?? '')?.[1] ?? -1);
    const record = leads[n];
    if (b === undefined || record === undefined || !parsed.lead) {
      res.writeHead(400).end('{"result":"bad request"}');
      return;
    }
    record.firstOffer ??= buyerId;
    const buyer = market.buyers[b]!;
    const terms = buyer.terms(n);
    if (terms.down) {
      res.writeHead(503).end();
      return;
    }
    const previous = record.answers.get(buyerId);
    if (previous !== undefined) {
      answer(res, previous); // a repeat of the same Idempotency-Key
      return;
    }
    const accepted = accepts(market, draws, n, b, record.answers.size);
    record.answers.set(buyerId, accepted);
    if (accepted) {
      if (record.soldTo !== undefined) state.doubleSold += 1;
      record.soldTo = buyerId;
      const returned = returns(market, draws, n, b);
      // Posted after an auction, the price is the winning bid the post carries ({{bid}}).
      const bid = typeof parsed.price === 'number' ? parsed.price : undefined;
      record.revenue = returned ? 0 : (bid ?? terms.price);
      if (bid === undefined && terms.price !== buyer.configuredPayout) postback(50, buyerId, parsed.lead, 'accepted', terms.price);
      if (returned) postback(options.returnDelayMs, buyerId, parsed.lead, 'returned');
    }
    answer(res, accepted);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    leads,
    get doubleSold() {
      return state.doubleSold;
    },
    get requests() {
      return state.requests;
    },
    get postbackFailures() {
      return state.postbackFailures;
    },
    get postbackRetries() {
      return state.postbackRetries;
    },
    pendingPostbacks: () => pending,
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
