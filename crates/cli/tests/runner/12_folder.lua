-- run as a plain script: the working directory is the script's folder
assert(io.exists("12_folder.lua"), os.currentdir())
assert(renoise.tool().bundle_path:find("runner/$"), renoise.tool().bundle_path)
print("ok")
