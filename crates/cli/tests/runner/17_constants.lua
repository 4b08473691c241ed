-- Renoise's API constants need no song: a tool that names them loads, and
-- one given a stand-in renoise.song() can use them.
assert(renoise.Transport.PLAYMODE_RESTART_PATTERN == 1 and renoise.Transport.PLAYMODE_CONTINUE_PATTERN == 2)
assert(renoise.Transport.TIMING_MODEL_LPB == 2)
assert(renoise.Track.TRACK_TYPE_SEQUENCER == 1 and renoise.Track.TRACK_TYPE_MASTER == 2)
assert(renoise.Track.TRACK_TYPE_SEND == 3 and renoise.Track.TRACK_TYPE_GROUP == 4)
assert(renoise.Track.MUTE_STATE_ACTIVE == 1 and renoise.Track.MUTE_STATE_MUTED == 3)
assert(renoise.PatternLine.EMPTY_NOTE == 121 and renoise.PatternLine.NOTE_OFF == 120)
assert(renoise.PatternLine.EMPTY_INSTRUMENT == 255)
assert(renoise.Pattern.MAX_NUMBER_OF_LINES == 512)
assert(renoise.Song.MAX_NUMBER_OF_INSTRUMENTS == 255 and renoise.Song.SUB_COLUMN_NOTE == 1)
assert(renoise.Instrument.TAB_SAMPLES == 1 and renoise.Instrument.NUMBER_OF_MACROS == 8)
assert(renoise.SampleEnvelopeModulationDevice.MAX_NUMBER_OF_POINTS == 6144)
assert(renoise.DeviceParameter.POLARITY_BIPOLAR == 2)

local started
renoise.song = function()
  return { transport = { start = function(_, mode) started = mode end } }
end
renoise.song().transport:start(renoise.Transport.PLAYMODE_RESTART_PATTERN)
assert(started == 1)
print("ok")
