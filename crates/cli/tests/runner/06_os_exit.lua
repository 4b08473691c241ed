renoise.tool():add_timer(function() print("ok") os.exit(0) end, 10)
renoise.tool().app_idle_observable:add_notifier(function() end) -- would run forever
