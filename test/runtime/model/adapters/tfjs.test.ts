// What a TF.js model gives, read from its last layer: Keras users end in a softmax, as an activation or a layer of its own.
import { describe, expect, it } from 'vitest';
import { loadTfjs } from '../../../support/tfjs.js';
import { tfjsOutputOf } from '../../../../src/tfjs.js';

describe('tfjsOutputOf', () => {
  it('a softmax activation or a Softmax layer gives probabilities; a linear last layer, logits', { timeout: 60_000 }, async () => {
    const tf = await loadTfjs();
    await tf.setBackend('cpu');
    const dense = (activation?: 'softmax' | 'relu') => tf.layers.dense({ units: 10, inputShape: [4], ...(activation && { activation }) });
    const models = {
      activation: tf.sequential({ layers: [dense('softmax')] }),
      layer: tf.sequential({ layers: [dense(), tf.layers.softmax()] }),
      activationLayer: tf.sequential({ layers: [dense(), tf.layers.activation({ activation: 'softmax' })] }),
      linear: tf.sequential({ layers: [dense()] }),
      relu: tf.sequential({ layers: [dense('relu')] }),
    };
    expect(Object.fromEntries(Object.entries(models).map(([k, m]) => [k, tfjsOutputOf(m)]))).toEqual({
      activation: 'probabilities', layer: 'probabilities', activationLayer: 'probabilities', linear: 'logits', relu: 'logits',
    });
    for (const m of Object.values(models)) m.dispose();
  });
});
