# End-to-end tests: every tests/e2e/test_*.py is one CTest test that runs
# pytest on that file with the project's venv Python, against real servers
# that scripts/ start on loopback. Included from tests/CMakeLists.txt.
#
# A test file names the servers it needs in one of its first 10 lines:
#   # fixtures: cassandra_main cassandra_secure postgres mariadb
# Each name is a CTest fixture: its setup test starts the server (a no-op if
# it already runs), its cleanup test stops it again, but only if this build
# directory's setup started it (scripts/*.sh --owner), so servers started by
# hand keep running.

set(CQLSHIFT_RUN_DIR "$ENV{CQLSHIFT_RUN_DIR}" CACHE PATH "Run dir of the test servers")
if(NOT CQLSHIFT_RUN_DIR)
  set(CQLSHIFT_RUN_DIR /tmp/cqlshift-run CACHE PATH "Run dir of the test servers" FORCE)
endif()
set(CQLSHIFT_VENV "$ENV{CQLSHIFT_VENV}" CACHE PATH "Python venv made by scripts/deps.sh")
if(NOT CQLSHIFT_VENV)
  set(CQLSHIFT_VENV ${PROJECT_SOURCE_DIR}/.venv CACHE PATH "Python venv made by scripts/deps.sh" FORCE)
endif()
set(_e2e_python ${CQLSHIFT_VENV}/bin/python)
if(NOT EXISTS ${_e2e_python})
  message(WARNING "e2e: ${_e2e_python} not found; run scripts/deps.sh (the e2e tests will fail)")
endif()

set(_e2e_scripts ${PROJECT_SOURCE_DIR}/scripts)
set(_e2e_owner "ctest:${CMAKE_BINARY_DIR}")
set(_e2e_env
    CQLSHIFT_RUN_DIR=${CQLSHIFT_RUN_DIR}
    CQLSHIFT_VENV=${CQLSHIFT_VENV}
    CQLSHIFT_BUILD_DIR=${CMAKE_BINARY_DIR}
    CQLSHIFT_SOURCE_DIR=${PROJECT_SOURCE_DIR})

# cqlshift_e2e_fixture(NAME SCRIPT START_ARGS... STOP STOP_ARGS...)
function(cqlshift_e2e_fixture fixture script)
  set(start_args)
  set(stop_args)
  set(in_stop OFF)
  foreach(a ${ARGN})
    if(a STREQUAL "STOP")
      set(in_stop ON)
    elseif(in_stop)
      list(APPEND stop_args ${a})
    else()
      list(APPEND start_args ${a})
    endif()
  endforeach()
  add_test(NAME e2e.setup.${fixture}
           COMMAND ${CMAKE_COMMAND} -E env ${_e2e_env}
                   bash ${_e2e_scripts}/${script} start ${start_args} --owner ${_e2e_owner})
  set_tests_properties(e2e.setup.${fixture} PROPERTIES
                       FIXTURES_SETUP ${fixture} LABELS e2e TIMEOUT 600
                       RESOURCE_LOCK cqlshift_e2e)
  add_test(NAME e2e.cleanup.${fixture}
           COMMAND ${CMAKE_COMMAND} -E env ${_e2e_env}
                   bash ${_e2e_scripts}/${script} stop ${stop_args} --owner ${_e2e_owner})
  set_tests_properties(e2e.cleanup.${fixture} PROPERTIES
                       FIXTURES_CLEANUP ${fixture} LABELS e2e TIMEOUT 180
                       RESOURCE_LOCK cqlshift_e2e)
endfunction()

cqlshift_e2e_fixture(cassandra_main cassandra.sh --name main --nodes 2 --ip-base 127.0.0.1
                     STOP --name main)
cqlshift_e2e_fixture(cassandra_secure cassandra.sh --name secure --nodes 1 --ip-base 127.0.0.3 --auth --tls
                     STOP --name secure)
cqlshift_e2e_fixture(postgres postgres.sh STOP)
cqlshift_e2e_fixture(mariadb mariadb.sh STOP)
set(_e2e_known_fixtures cassandra_main cassandra_secure postgres mariadb)

file(GLOB _e2e_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.py)
foreach(_py ${_e2e_tests})
  get_filename_component(_name ${_py} NAME_WE)
  set(_fixtures)
  file(STRINGS ${_py} _marker LIMIT_COUNT 10 REGEX "^#[ \t]*fixtures:")
  if(_marker)
    list(GET _marker 0 _marker)
    string(REGEX REPLACE "^#[ \t]*fixtures:[ \t]*" "" _marker "${_marker}")
    string(REGEX REPLACE "[ \t,]+" ";" _fixtures "${_marker}")
    list(REMOVE_ITEM _fixtures "")
    foreach(_f ${_fixtures})
      if(NOT _f IN_LIST _e2e_known_fixtures)
        message(FATAL_ERROR "${_py}: unknown fixture '${_f}' (known: ${_e2e_known_fixtures})")
      endif()
    endforeach()
  endif()
  # pytest exits 5 when it collected no test: CTest counts any non-zero exit
  # as a failure, so a broken file cannot pass silently.
  add_test(NAME e2e.${_name}
           COMMAND ${CMAKE_COMMAND} -E env ${_e2e_env} PYTHONDONTWRITEBYTECODE=1
                   ${_e2e_python} -m pytest -p no:cacheprovider -v -rfEs --tb=short
                   --junitxml=${CMAKE_BINARY_DIR}/e2e-reports/${_name}.xml ${_py}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(e2e.${_name} PROPERTIES
                       LABELS e2e TIMEOUT 1200 RESOURCE_LOCK cqlshift_e2e)
  if(_fixtures)
    set_tests_properties(e2e.${_name} PROPERTIES FIXTURES_REQUIRED "${_fixtures}")
  endif()
endforeach()
