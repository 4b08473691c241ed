class "Thing"
assert(type(Thing) == "Thing class")
assert(type(Thing()) == "Thing")
assert(type(renoise.Osc.Message("/a")) == "Message")
assert(type(renoise.Osc.Bundle(0, renoise.Osc.Message("/a"))) == "Bundle")
assert(type({}) == "table" and type(1) == "number" and type("s") == "string" and type(nil) == "nil")
assert(type(print) == "function")
print("ok")
