// charloom's models, forward pass only, for a page that generates without a server.
//
// Every model has the interface of charloom's own step:
//     start()              -> the state before the first token
//     step(token, state)   -> [logits (Float64Array of V), the state after the token]
// and computes what the Python model computes in evaluation mode (dropout off, BatchNorm
// on its running statistics), in float64 from the float32 weights.
"use strict";

// -- tensors: base64 of little-endian float32, row-major --------------------------
function decodeTensors(encoded) {
  const tensors = {};
  for (const [name, { shape, b64 }] of Object.entries(encoded)) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    tensors[name] = { shape, data: new Float32Array(bytes.buffer) };
  }
  return tensors;
}

// y = W x + b, W (out, in) row-major: x . row o of W, as nn.Linear computes it
function linear(W, b, x) {
  const [out, inDim] = W.shape;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let sum = b ? b.data[o] : 0;
    const row = o * inDim;
    for (let i = 0; i < inDim; i++) sum += W.data[row + i] * x[i];
    y[o] = sum;
  }
  return y;
}

function row(table, index) {
  const width = table.shape[1];
  return Float64Array.from(table.data.subarray(index * width, (index + 1) * width));
}

const sigmoid = (x) => 1 / (1 + Math.exp(-x));
const add = (a, b) => a.map((v, i) => v + b[i]);

// (x - mean) / sqrt(var + eps) * g + b, over the whole vector (the biased variance)
function layerNorm(x, g, b, eps) {
  const n = x.length;
  const mean = x.reduce((s, v) => s + v, 0) / n;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  const scale = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * scale * (g ? g.data[i] : 1) + (b ? b.data[i] : 0));
}

// x / sqrt(mean(x^2) + eps) * g: no mean taken off
function rmsNorm(x, g, eps) {
  const meanSquare = x.reduce((s, v) => s + v * v, 0) / x.length;
  const scale = 1 / Math.sqrt(meanSquare + eps);
  return x.map((v, i) => v * scale * (g ? g.data[i] : 1));
}

// erf to 1.2e-7 (Numerical Recipes' erfc by Chebyshev fit), for GELU's exact form
function erf(x) {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(poly);
  return x >= 0 ? 1 - erfc : erfc - 1;
}
const gelu = (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
const relu2 = (x) => (x > 0 ? x * x : 0);

// -- the window models: ngram, bigram, mlp, wavenet ------------------------------
// The state is the last C tokens (boundaries, id 0, before the first); a step moves the
// window on by the new token and reads the next character's logits off the window.
function windowModel(context, logitsOf) {
  return {
    start: () => new Array(context).fill(0),
    step(token, window) {
      const next = [...window.slice(1), token];
      return [logitsOf(next), next];
    },
  };
}

// P(c | context) = (count(context, c) + k) / (count(context) + k V); contexts never seen
// have no row, and with k = 0 fall back to uniform
function ngram(spec, T, V) {
  const order = spec.config.n - 1;
  const keys = spec.context_keys;
  const counts = T.counts;
  return windowModel(Math.max(order, 1), (window) => {
    let key = 0;
    for (const token of window.slice(window.length - order)) key = key * V + token;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    const seen = lo < keys.length && keys[lo] === key ? row(counts, lo) : new Float64Array(V);
    const smoothed = seen.map((c) => c + spec.config.smoothing);
    const total = smoothed.reduce((s, v) => s + v, 0);
    return smoothed.map((c) => Math.log(Math.max(total > 0 ? c / total : 1 / V, 1e-30)));
  });
}

function bigram(spec, T) {
  return windowModel(1, (window) => row(T.logits, window[0]));
}

// The MLP and the WaveNet: embeddings of the window (C rows), then the layers in order
// (spec.layers), the output layer last, on the one row left.
function layeredWindow(spec, T) {
  const embedding = T["embedding.weight"];
  const layer = {
    flatten: (rows) => [Float64Array.from(rows.flatMap((r) => [...r]))],
    pairs: (rows) => rows.filter((_, i) => i % 2 === 0).map((r, i) => Float64Array.from([...r, ...rows[2 * i + 1]])),
    linear: (rows, l) => rows.map((r) => linear(T[l.weight], T[l.bias], r)),
    // eval: y = g (x - running mean) / sqrt(running var + eps) + b
    batchnorm: (rows, l) =>
      rows.map((r) =>
        r.map(
          (v, i) =>
            (T[l.weight].data[i] * (v - T[l.mean].data[i])) / Math.sqrt(T[l.var].data[i] + l.eps) + T[l.bias].data[i],
        ),
      ),
    tanh: (rows) => rows.map((r) => r.map(Math.tanh)),
  };
  return windowModel(spec.context, (window) => {
    let rows = window.map((token) => row(embedding, token));
    for (const l of spec.layers) rows = layer[l.op](rows, l);
    return rows[0];
  });
}

// -- the recurrent models: rnn, gru, lstm -----------------------------------------
// PyTorch's gate order (gru r, z, n; lstm i, f, g, o) and its GRU variant, in which the
// reset gate multiplies W_hn h + b_hn rather than h
const cells = {
  rnn(gi, gh, h) {
    return { h: add(gi, gh).map(Math.tanh) };
  },
  gru(gi, gh, h) {
    const H = h.length;
    const n = new Float64Array(H);
    const next = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const r = sigmoid(gi[j] + gh[j]);
      const z = sigmoid(gi[H + j] + gh[H + j]);
      n[j] = Math.tanh(gi[2 * H + j] + r * gh[2 * H + j]);
      next[j] = (1 - z) * n[j] + z * h[j];
    }
    return { h: next };
  },
  lstm(gi, gh, h, c) {
    const H = h.length;
    const nextH = new Float64Array(H);
    const nextC = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const i = sigmoid(gi[j] + gh[j]);
      const f = sigmoid(gi[H + j] + gh[H + j]);
      const g = Math.tanh(gi[2 * H + j] + gh[2 * H + j]);
      const o = sigmoid(gi[3 * H + j] + gh[3 * H + j]);
      nextC[j] = f * c[j] + i * g;
      nextH[j] = o * Math.tanh(nextC[j]);
    }
    return { h: nextH, c: nextC };
  },
};

function recurrent(spec, T) {
  const { n_layer: L, hidden: H } = spec.config;
  const cell = cells[spec.family];
  const names = spec.family === "lstm" ? ["h", "c"] : ["h"];
  const initial = (name, k) =>
    T[`initial.${name}`] ? Float64Array.from(T[`initial.${name}`].data.subarray(k * H, (k + 1) * H)) : new Float64Array(H);
  return {
    start: () => Array.from({ length: L }, (_, k) => Object.fromEntries(names.map((n) => [n, initial(n, k)]))),
    step(token, layers) {
      let x = row(T["embedding.weight"], token);
      const next = layers.map((s, k) => {
        const gi = linear(T[`rnn.weight_ih_l${k}`], T[`rnn.bias_ih_l${k}`], x);
        const gh = linear(T[`rnn.weight_hh_l${k}`], T[`rnn.bias_hh_l${k}`], s.h);
        const after = cell(gi, gh, s.h, s.c);
        x = after.h; // the layer above reads this layer's h
        return after;
      });
      return [linear(T["head.weight"], T["head.bias"], x), next];
    },
  };
}

// -- the transformer ---------------------------------------------------------------
// Pre-norm blocks, x = x + attn(norm(x)); x = x + mlp(norm(x)), then the head on a last
// norm, soft-capped. One position at a time with every layer's keys and values kept;
// once block_size positions are kept the window slides and is read again from position 0,
// as charloom's own step does.
function transformer(spec, T) {
  const c = spec.config;
  const C = c.n_embd;
  const nh = c.n_head;
  const hs = C / nh;
  const p = (name) => T[name];
  const norm = (x, prefix) =>
    c.norm === "rmsnorm" ? rmsNorm(x, p(`${prefix}.weight`), 1e-6) : layerNorm(x, p(`${prefix}.weight`), p(`${prefix}.bias`), 1e-5);
  // QK-norm: the block's kind of norm over each head, no gain (F.rms_norm's eps is float32's)
  const headNorm = (x) => (c.norm === "rmsnorm" ? rmsNorm(x, null, 1.1920928955078125e-7) : layerNorm(x, null, null, 1e-5));
  const act = c.activation === "relu2" ? relu2 : gelu;
  // rotary: halves (x1, x2) turned by the angle pos * base^(-2i / hs)
  const turn = (x, pos) => {
    const half = hs / 2;
    const y = new Float64Array(hs);
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(10000, (-2 * i) / hs);
      const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
      y[i] = x[i] * cos - x[half + i] * sin;
      y[half + i] = x[i] * sin + x[half + i] * cos;
    }
    return y;
  };
  const place = (x, pos) => {
    const normed = c.qk_norm ? headNorm(x) : x;
    return c.position === "rotary" ? turn(normed, pos) : normed;
  };

  // one new position: its query attends to every kept key of its layer, itself included
  function advance(token, cache) {
    const pos = cache.length;
    let x = row(p("wte.weight"), token);
    if (c.position === "learned") x = add(x, row(p("wpe.weight"), pos));
    const kept = [];
    for (let l = 0; l < c.n_layer; l++) {
      const b = `blocks.${l}`;
      const qkv = linear(p(`${b}.attn.c_attn.weight`), p(`${b}.attn.c_attn.bias`), norm(x, `${b}.ln_1`));
      const heads = { k: [], v: [] };
      const y = new Float64Array(C);
      for (let h = 0; h < nh; h++) {
        const q = place(qkv.subarray(h * hs, (h + 1) * hs), pos);
        heads.k.push(place(qkv.subarray(C + h * hs, C + (h + 1) * hs), pos));
        heads.v.push(qkv.slice(2 * C + h * hs, 2 * C + (h + 1) * hs));
        const keys = [...cache.map((layers) => layers[l].k[h]), heads.k[h]];
        const values = [...cache.map((layers) => layers[l].v[h]), heads.v[h]];
        // softmax_t(q . k_t / sqrt(hs)), then the weighted sum of the values
        const scores = keys.map((k) => k.reduce((s, v, i) => s + v * q[i], 0) / Math.sqrt(hs));
        const top = Math.max(...scores);
        const weights = scores.map((s) => Math.exp(s - top));
        const total = weights.reduce((s, w) => s + w, 0);
        for (let t = 0; t < values.length; t++)
          for (let i = 0; i < hs; i++) y[h * hs + i] += (weights[t] / total) * values[t][i];
      }
      kept.push(heads);
      x = add(x, linear(p(`${b}.attn.c_proj.weight`), p(`${b}.attn.c_proj.bias`), y));
      const hidden = linear(p(`${b}.mlp.c_fc.weight`), p(`${b}.mlp.c_fc.bias`), norm(x, `${b}.ln_2`)).map(act);
      x = add(x, linear(p(`${b}.mlp.c_proj.weight`), p(`${b}.mlp.c_proj.bias`), hidden));
    }
    let logits = linear(p("head.weight") || p("wte.weight"), null, norm(x, "ln_f"));
    if (c.logit_softcap) logits = logits.map((z) => c.logit_softcap * Math.tanh(z / c.logit_softcap));
    return [logits, [...cache, kept]];
  }

  return {
    start: () => ({ tokens: [], cache: [] }),
    step(token, state) {
      const tokens = [...state.tokens, token].slice(-c.block_size);
      let logits;
      let cache = state.cache;
      if (cache.length < c.block_size) {
        [logits, cache] = advance(token, cache);
      } else {
        cache = [];
        for (const t of tokens) [logits, cache] = advance(t, cache);
      }
      return [logits, { tokens, cache }];
    },
  };
}

function makeModel(spec, encoded, vocabSize) {
  const T = decodeTensors(encoded);
  const families = { ngram, bigram, mlp: layeredWindow, wavenet: layeredWindow, rnn: recurrent, gru: recurrent, lstm: recurrent, transformer };
  return families[spec.family](spec, T, vocabSize);
}
