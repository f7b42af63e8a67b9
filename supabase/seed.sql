-- Sample music_knowledge rows (the seed report's 20), with fixed ids so re-running adds nothing.
-- Applied by `supabase db reset` on a Supabase stack, and by `deno task demo` and the tests here.
insert into public.music_knowledge (id, topic, category, suggestion, confidence) values
  ('b914834e-74fd-4df9-9723-6c87fc54b6dc', 'basic_chords', 'harmony', 'Start with the I, IV and V chords of a major key; most pop songs use only these three.', 0.95),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000002', 'minor_key_progressions', 'harmony', 'In a minor key, try i - VI - III - VII for a melancholic but driving loop.', 0.9),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000003', 'jazz_voicings', 'harmony', 'Voice ii-V-I progressions with rootless shells: the third and seventh carry the harmony.', 0.85),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000004', 'modal_interchange', 'harmony', 'Borrow the iv chord from the parallel minor to add a bittersweet turn before the tonic.', 0.8),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000005', 'kick_compression', 'mixing', 'Compress the kick drum with a slow attack and fast release so the transient punches through.', 0.9),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000006', 'vocal_eq', 'mixing', 'Cut muddiness around 250 Hz on vocals and add a gentle shelf above 10 kHz for air.', 0.88),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000007', 'sidechain_bass', 'mixing', 'Sidechain the bass to the kick so the low end does not clash on every downbeat.', 0.87),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000008', 'reverb_sends', 'mixing', 'Use reverb on a send bus instead of inserts, and high-pass the return to keep the mix clean.', 0.86),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000009', 'loudness_targets', 'mastering', 'Master streaming releases to about -14 LUFS integrated with true peaks below -1 dBTP.', 0.9),
  ('0a6b1f0e-2c1d-4a7e-9d0a-00000000000a', 'limiter_settings', 'mastering', 'Push the limiter only until it takes 2-3 dB of gain reduction on the loudest passages.', 0.8),
  ('0a6b1f0e-2c1d-4a7e-9d0a-00000000000b', 'stereo_width', 'mastering', 'Keep everything below 120 Hz in mono and widen only the upper mids and highs.', 0.82),
  ('0a6b1f0e-2c1d-4a7e-9d0a-00000000000c', 'four_on_the_floor', 'rhythm', 'For house music, place the kick on every quarter note and open hi-hats on the off-beats.', 0.92),
  ('0a6b1f0e-2c1d-4a7e-9d0a-00000000000d', 'swing_quantize', 'rhythm', 'Apply 55-60% swing to sixteenth-note hi-hats to make a programmed groove feel human.', 0.84),
  ('0a6b1f0e-2c1d-4a7e-9d0a-00000000000e', 'polyrhythm', 'rhythm', 'Layer a three-against-two pattern between percussion and bass for forward motion.', 0.75),
  ('0a6b1f0e-2c1d-4a7e-9d0a-00000000000f', 'song_structure', 'arrangement', 'A verse-chorus-verse-chorus-bridge-chorus form keeps listeners oriented in a pop song.', 0.9),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000010', 'arrangement_contrast', 'arrangement', 'Drop instruments out before the chorus so its entrance feels bigger by contrast.', 0.85),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000011', 'melody_contour', 'melody', 'Write the chorus melody higher in range than the verse to lift the energy.', 0.83),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000012', 'hook_repetition', 'melody', 'Repeat a short melodic hook at least three times so listeners remember it.', 0.8),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000013', 'synth_pads', 'sound_design', 'Make lush pads by detuning two saw oscillators and opening a low-pass filter slowly.', 0.78),
  ('0a6b1f0e-2c1d-4a7e-9d0a-000000000014', 'bass_layering', 'sound_design', 'Layer a clean sine sub under a distorted mid bass and high-pass the mid layer at 100 Hz.', 0.81)
on conflict (id) do nothing;
