// The simulator's seeded randomness (pure-rand's xoroshiro128+). Every random choice of a
// run comes from one of these, forked by purpose so that adding a draw in one place does
// not shift the choices made elsewhere.
import { xoroshiro128plus, unsafeUniformIntDistribution } from 'pure-rand';
export class Prng {
    generator;
    constructor(seed) {
        this.generator = xoroshiro128plus(seed | 0);
    }
    /** A new, independent stream derived from this seed and a label. */
    static forPurpose(seed, purpose) {
        let hash = seed | 0;
        for (let i = 0; i < purpose.length; i++)
            hash = Math.imul(hash ^ purpose.charCodeAt(i), 0x9e3779b1) | 0;
        return new Prng(hash ^ (seed >>> 16));
    }
    /** Integer in [min, max], inclusive. */
    int(min, max) {
        return unsafeUniformIntDistribution(min, max, this.generator);
    }
    /** Float in [0, 1). */
    float() {
        return this.int(0, 0x7fffffff) / 0x80000000;
    }
    chance(probability) {
        return probability > 0 && this.float() < probability;
    }
    pick(items) {
        return items[this.int(0, items.length - 1)];
    }
    /** A hex string, for ids the simulator makes up (incarnation ids). */
    hex(length) {
        let text = '';
        while (text.length < length)
            text += this.int(0, 0xffff).toString(16).padStart(4, '0');
        return text.slice(0, length);
    }
}
//# sourceMappingURL=prng.js.map