/**
 * The local API's connection cap, shared fairly. Node's `server.maxConnections` closes every connection
 * past the cap on accept, so any local process holding the cap with connections that never finish a
 * request (about 530 half-open ones) made signed requests fail. Here a new connection past the cap takes
 * the slot of the oldest connection that has not proven itself with a complete, signed request: first one
 * with no request under way, then one still sending its request, then an idle keep-alive connection that
 * did prove itself. Only when every slot carries a signed request being answered is the new connection
 * refused. A stranger's connections thus only ever displace each other.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

interface Slot {
  /** A request on this connection passed the signature check. */
  signed: boolean;
  /** A request is under way on it (headers received, response not finished). */
  active: boolean;
}

/** What the request handler tells the slots. */
export interface ConnectionSlots {
  /** The request on this connection carried a valid signature of a known key. */
  vouch(req: IncomingMessage): void;
  /** Open connections now. */
  readonly size: number;
}

/** Applies the fair cap of `maxConnections` to `server` (replacing Node's own cap). */
export function shareConnectionsFairly(server: Server, maxConnections: number): ConnectionSlots {
  // Oldest first: a Map iterates in insertion order.
  const slots = new Map<Socket, Slot>();
  server.maxConnections = Number.POSITIVE_INFINITY;

  const reclaimable = (): Socket | undefined => {
    const order: Array<(slot: Slot) => boolean> = [
      (slot) => !slot.signed && !slot.active,
      (slot) => !slot.signed,
      (slot) => !slot.active,
    ];
    for (const wanted of order) {
      for (const [socket, slot] of slots) if (wanted(slot)) return socket;
    }
    return undefined;
  };

  server.on('connection', (socket: Socket) => {
    if (slots.size >= maxConnections) {
      const taken = reclaimable();
      if (taken === undefined) {
        socket.destroy();
        return;
      }
      slots.delete(taken);
      taken.destroy();
    }
    slots.set(socket, { signed: false, active: false });
    socket.once('close', () => slots.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const slot = slots.get(req.socket);
    if (slot === undefined) return;
    slot.active = true;
    res.once('close', () => {
      slot.active = false;
    });
  });

  return {
    vouch(req) {
      const slot = slots.get(req.socket);
      if (slot !== undefined) slot.signed = true;
    },
    get size() {
      return slots.size;
    },
  };
}
