import { Rng } from "@mlsd/random";
import type { Recommender } from "../evaluate";
import type { UserItemMatrix } from "../matrix";

/** MostPop: every user gets the items most often rated in training (minus their own). */
export class MostPopular implements Recommender {
  readonly name = "MostPop";
  private scores = new Float32Array(0);

  fit(train: UserItemMatrix): void {
    this.scores = Float32Array.from(train.itemCounts());
  }

  scoreAll(): Float32Array {
    return this.scores;
  }
}

/** Uniformly random scores; a user's scores depend only on the seed and the user. */
export class RandomRecommender implements Recommender {
  readonly name = "Random";
  private buffer = new Float32Array(0);

  constructor(private readonly seed = 7) {}

  fit(train: UserItemMatrix): void {
    this.buffer = new Float32Array(train.numItems);
  }

  scoreAll(user: number): Float32Array {
    const rng = new Rng((this.seed * 1_000_003 + user) >>> 0);
    for (let i = 0; i < this.buffer.length; i++) this.buffer[i] = rng.next();
    return this.buffer;
  }
}
